// A scripted stand-in for WebSocket: the test plays the server by hand.
import { setImmediate as immediate } from 'node:timers/promises';

/** Lets queued microtasks and promise chains run (timers stay mocked). */
export async function flush(rounds = 3) {
  for (let i = 0; i < rounds; i++) await immediate();
}

/** Returns a WebSocket class and the list of sockets it created. */
export function fakeWebSocket() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 0;
      this.frames = [];
      this.taken = 0;
      this.closedByClient = null;
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open');
      this.frames.push(data);
    }
    close(code, reason) {
      this.closedByClient = { code, reason };
      this.readyState = 3;
    }
    // ---- the test's side ----
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
    /** Every command sent so far, parsed. */
    commands() {
      return this.frames.flatMap((f) => f.split('\n')).map((l) => JSON.parse(l));
    }
    /** Commands sent since the last take(). */
    take() {
      const all = this.commands();
      const out = all.slice(this.taken);
      this.taken = all.length;
      return out;
    }
    /** Delivers one frame holding the given objects (strings are sent verbatim). */
    receive(...objs) {
      const data = objs.map((o) => (typeof o === 'string' ? o : JSON.stringify(o))).join('\n');
      this.onmessage?.({ data });
    }
    reply(id, result) {
      this.receive({ id, result });
    }
    fail(id, code, reason) {
      this.receive({ id, error: { code, reason } });
    }
    serverClose(code, reason = '') {
      this.readyState = 3;
      this.onclose?.({ code, reason, wasClean: code !== 1006 });
    }
  }
  return { WebSocket: FakeWebSocket, sockets };
}

export const CONNECT_RESULT = { client: 'c1', user: 'alice', expires: 0, ping: 25, version: 'test' };

/**
 * A client connected to a fake socket. `result` overrides fields of the connect result.
 */
export async function connectedClient(Client, options = {}, result = {}) {
  const { WebSocket, sockets } = fakeWebSocket();
  const client = new Client('ws://test/connection', { websocket: WebSocket, ...options });
  client.connect();
  await flush();
  const ws = sockets[0];
  ws.open();
  await flush();
  const [connect] = ws.take();
  ws.reply(connect.id, { ...CONNECT_RESULT, ...result });
  await flush();
  return { client, ws, sockets, connect };
}

/** Opens the newest socket and answers its connect command. */
export async function acceptReconnect(sockets, result = {}) {
  const ws = sockets[sockets.length - 1];
  ws.open();
  await flush();
  const cmds = ws.take();
  const connect = cmds.find((c) => c.op === 'connect');
  ws.reply(connect.id, { ...CONNECT_RESULT, client: `c${sockets.length}`, ...result });
  await flush();
  return { ws, connect };
}

export function pub(offset, data = { n: offset }, extra = {}) {
  return { offset, time: 1700000000000 + offset, data, from: { user: 'bob', client: 'c9' }, ...extra };
}

export function pubPush(channel, offset, data) {
  return { push: 'pub', channel, ...pub(offset, data) };
}

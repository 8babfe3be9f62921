import { test, describe, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Client, SwitchboardError, ErrorCode } from '../dist/switchboard.js';
import { fakeWebSocket, flush, connectedClient, acceptReconnect, CONNECT_RESULT } from './fake-websocket.mjs';

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_700_000_000_000 });
  mock.method(Math, 'random', () => 0.5);
});
afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

async function tick(ms) {
  mock.timers.tick(ms);
  await flush();
}

describe('connecting', () => {
  test('offers the subprotocol and sends connect with token and name', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket, token: 'T', name: 'web 1.0' });
    const states = [];
    client.on('state', (s) => states.push(s.newState));
    let connected = null;
    client.on('connected', (c) => (connected = c));
    assert.equal(client.state, 'disconnected');
    client.connect();
    assert.equal(client.state, 'connecting');
    await flush();
    assert.equal(sockets.length, 1);
    assert.equal(sockets[0].url, 'ws://h/connection');
    assert.equal(sockets[0].protocols, 'switchboard.v1.json');
    sockets[0].open();
    await flush();
    const [cmd] = sockets[0].take();
    assert.deepEqual(cmd, { id: cmd.id, op: 'connect', token: 'T', name: 'web 1.0' });
    assert.ok(Number.isInteger(cmd.id) && cmd.id >= 1);
    sockets[0].reply(cmd.id, CONNECT_RESULT);
    await flush();
    assert.equal(client.state, 'connected');
    assert.deepEqual(states, ['connecting', 'connected']);
    assert.deepEqual(connected, { ...CONNECT_RESULT, iceServers: [] });
    assert.equal(client.clientId, 'c1');
    assert.equal(client.user, 'alice');
  });

  test('anonymous connect carries no token; name is cut to 64 bytes on a character boundary', async () => {
    const name = 'é'.repeat(40); // 80 bytes
    const { ws, connect } = await connectedClient(Client, { name });
    assert.equal(connect.token, undefined);
    assert.equal(new TextEncoder().encode(connect.name).length, 64);
    assert.equal(connect.name, 'é'.repeat(32));
    assert.ok(ws);
  });

  test('getToken supplies the first token', async () => {
    const getToken = mock.fn(async () => 'fresh');
    const { connect } = await connectedClient(Client, { getToken });
    assert.equal(getToken.mock.callCount(), 1);
    assert.equal(connect.token, 'fresh');
  });

  test('a socket that never opens is abandoned after timeout and retried', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket, timeout: 3000 });
    client.connect();
    await flush();
    await tick(2999);
    assert.equal(sockets.length, 1);
    await tick(1);
    assert.ok(sockets[0].closedByClient, 'stale socket closed');
    assert.equal(client.state, 'connecting');
    await tick(1000); // backoff: 500 + 0.5 * 500 = 750
    assert.equal(sockets.length, 2);
  });

  test('disconnect() closes, stops reconnecting and fails waiting commands', async () => {
    const { client, ws, sockets } = await connectedClient(Client);
    const reasons = [];
    client.on('disconnected', (c) => reasons.push(c));
    client.disconnect();
    assert.equal(client.state, 'disconnected');
    assert.deepEqual(ws.closedByClient, { code: 1000, reason: 'client disconnect' });
    assert.deepEqual(reasons, [{ code: ErrorCode.ClientDisconnected, reason: 'disconnect called' }]);
    // Commands wait while disconnected too (the app may call connect() next), within timeout.
    const p = assert.rejects(client.history('chat:a'), (e) => e.code === ErrorCode.Timeout);
    await tick(60000);
    await p;
    assert.equal(sockets.length, 1, 'no reconnect after disconnect()');
  });

  test('connect() during a backoff wait tries at once', async () => {
    const { client, ws, sockets } = await connectedClient(Client);
    ws.serverClose(1006);
    await flush();
    assert.equal(sockets.length, 1);
    client.connect();
    await flush();
    assert.equal(sockets.length, 2);
  });
});

describe('commands', () => {
  test('commands in the same tick leave in one frame, separated by newlines', async () => {
    const { client, ws } = await connectedClient(Client);
    const before = ws.frames.length;
    const a = client.publish('chat:a', { text: 'x' });
    const b = client.history('chat:a', { limit: 5 });
    const c = client.presenceStats('chat:a');
    await flush();
    assert.equal(ws.frames.length, before + 1);
    const lines = ws.frames.at(-1).split('\n');
    assert.equal(lines.length, 3);
    const [p, h, s] = lines.map((l) => JSON.parse(l));
    assert.deepEqual(p, { id: p.id, op: 'publish', channel: 'chat:a', data: { text: 'x' } });
    assert.deepEqual(h, { id: h.id, op: 'history', channel: 'chat:a', limit: 5 });
    assert.equal(s.op, 'presence_stats');
    assert.equal(new Set([p.id, h.id, s.id]).size, 3);
    // Replies in one frame, out of order, with a trailing newline.
    ws.onmessage({
      data:
        JSON.stringify({ id: s.id, result: { clients: 3, users: 2 } }) + '\n' +
        JSON.stringify({ id: h.id, result: { epoch: 'E', offset: 9, publications: [] } }) + '\n' +
        JSON.stringify({ id: p.id, result: { epoch: 'E', offset: 10 } }) + '\n',
    });
    assert.deepEqual(await a, { epoch: 'E', offset: 10 });
    assert.deepEqual(await b, { epoch: 'E', offset: 9, publications: [] });
    assert.deepEqual(await c, { clients: 3, users: 2 });
  });

  test('history sends since and reverse', async () => {
    const { client, ws } = await connectedClient(Client);
    client.history('chat:a', { since: { epoch: 'E', offset: 3 }, limit: 10 });
    client.history('chat:a', { limit: 2, reverse: true });
    await flush();
    const [a, b] = ws.take();
    assert.deepEqual(a.since, { epoch: 'E', offset: 3 });
    assert.equal(a.limit, 10);
    assert.equal(b.reverse, true);
  });

  test('an error reply rejects with SwitchboardError carrying code and reason', async () => {
    const { client, ws } = await connectedClient(Client);
    const p = client.publish('chat:nope', { text: 'hi' });
    await flush();
    const [cmd] = ws.take();
    ws.fail(cmd.id, 103, 'permission denied');
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof SwitchboardError);
      assert.ok(e instanceof Error);
      assert.equal(e.code, 103);
      assert.equal(e.reason, 'permission denied');
      assert.equal(e.maybeCommitted, false);
      return true;
    });
  });

  test('a command without reply times out; its late reply is ignored', async () => {
    const { client, ws } = await connectedClient(Client, { timeout: 2000 });
    const p = assert.rejects(client.presence('chat:a'), (e) => e.code === ErrorCode.Timeout && e.temporary);
    await flush();
    const [cmd] = ws.take();
    await tick(2000);
    await p;
    ws.reply(cmd.id, { clients: [] }); // harmless
    assert.equal(client.state, 'connected');
  });

  test('publish while not connected rejects at once and sends nothing later', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket });
    await assert.rejects(client.publish('chat:a', 1), (e) => e.code === ErrorCode.NotConnected);
    client.connect();
    await flush();
    await assert.rejects(client.publish('chat:a', 1), (e) => e.code === ErrorCode.NotConnected);
    await acceptReconnect(sockets);
    await flush();
    assert.deepEqual(sockets[0].commands().map((c) => c.op), ['connect']);
  });

  test('reads issued while connecting wait and go out after connect', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket });
    client.connect();
    const p = client.presence('chat:a');
    await flush();
    sockets[0].open();
    await flush();
    assert.deepEqual(sockets[0].take().map((c) => c.op), ['connect'], 'connect goes alone, first');
    const connect = sockets[0].commands()[0];
    sockets[0].reply(connect.id, CONNECT_RESULT);
    await flush();
    const [cmd] = sockets[0].take();
    assert.equal(cmd.op, 'presence');
    sockets[0].reply(cmd.id, { clients: [{ client: 'c1', user: 'alice' }] });
    assert.deepEqual(await p, { clients: [{ client: 'c1', user: 'alice' }] });
  });

  test('a waiting command times out from the moment it was issued', async () => {
    const { WebSocket } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket, timeout: 1000 });
    client.connect();
    const p = assert.rejects(client.history('chat:a'), (e) => e.code === ErrorCode.Timeout);
    await tick(1000);
    await p;
  });

  test('the wait queue is bounded', async () => {
    const { WebSocket } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket, maxQueueSize: 2 });
    const a = client.presence('a');
    const b = client.presence('b');
    await assert.rejects(client.presence('c'), (e) => e.code === ErrorCode.QueueFull);
    client.disconnect(); // no-op: already disconnected
    client.connect();
    client.disconnect();
    await assert.rejects(a, (e) => e.code === ErrorCode.ClientDisconnected);
    await assert.rejects(b, (e) => e.code === ErrorCode.ClientDisconnected);
  });

  test('a publish in flight when the connection drops fails as maybe committed and is not resent', async () => {
    const { client, ws, sockets } = await connectedClient(Client);
    const p = client.publish('chat:a', { text: 'x' });
    const h = client.history('chat:a', { limit: 1 });
    await flush();
    ws.take();
    ws.serverClose(1006);
    await assert.rejects(p, (e) => e.code === ErrorCode.ConnectionLost && e.maybeCommitted);
    await tick(1000);
    const { ws: ws2 } = await acceptReconnect(sockets);
    await flush();
    const cmds = ws2.take();
    assert.deepEqual(cmds.map((c) => c.op), ['history'], 'the read is sent again, the publish is not');
    ws2.reply(cmds[0].id, { epoch: 'E', offset: 1, publications: [] });
    assert.equal((await h).offset, 1);
  });

  test('ids are unique and never 0', async () => {
    const { client, ws } = await connectedClient(Client);
    for (let i = 0; i < 50; i++) client.presenceStats('a').catch(() => {});
    await flush();
    const ids = ws.commands().map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.every((id) => id >= 1 && id <= 4294967295));
  });
});

describe('reconnecting', () => {
  test('backoff grows exponentially with jitter, is capped, and resets after a connect', async () => {
    const { client, sockets } = await connectedClient(Client, { minReconnectDelay: 100, maxReconnectDelay: 1000 });
    const delays = [];
    client.on('reconnecting', (c) => delays.push(c.delay));
    Math.random.mock.mockImplementation(() => 1);
    sockets[0].serverClose(1006);
    for (let i = 0; i < 6; i++) {
      await tick(delays.at(-1));
      sockets.at(-1).serverClose(1006);
      await flush();
    }
    // min + random * min(max, min * 2^n), capped at max, with random = 1:
    assert.deepEqual(delays, [200, 300, 500, 900, 1000, 1000, 1000]);
    await tick(1000);
    await acceptReconnect(sockets);
    sockets.at(-1).serverClose(1006);
    await flush();
    assert.equal(delays.at(-1), 200, 'attempts reset after a successful connect');
  });

  test('full jitter: random 0 gives the minimum delay', async () => {
    const { client, sockets } = await connectedClient(Client);
    Math.random.mock.mockImplementation(() => 0);
    const delays = [];
    client.on('reconnecting', (c) => delays.push(c));
    sockets[0].serverClose(4000, 'disconnected by the server');
    await flush();
    assert.deepEqual(delays, [{ attempt: 0, delay: 500, code: 4000, reason: 'disconnected by the server' }]);
    await tick(499);
    assert.equal(sockets.length, 1);
    await tick(1);
    assert.equal(sockets.length, 2);
  });

  for (const code of [1001, 1006, 4000, 4001, 4003, 4499, 1011]) {
    test(`close ${code} reconnects`, async () => {
      const { client, sockets } = await connectedClient(Client);
      const events = [];
      client.on('connecting', (c) => events.push(c.code));
      sockets[0].serverClose(code, 'bye');
      await flush();
      assert.equal(client.state, 'connecting');
      assert.deepEqual(events, [code]);
      await tick(20000);
      assert.equal(sockets.length, 2);
    });
  }

  for (const code of [4500, 4501, 4502, 4503, 4504, 4999]) {
    test(`close ${code} does not reconnect`, async () => {
      const { client, sockets } = await connectedClient(Client);
      let ctx = null;
      client.on('disconnected', (c) => (ctx = c));
      sockets[0].serverClose(code, 'no');
      await flush();
      assert.equal(client.state, 'disconnected');
      assert.deepEqual(ctx, { code, reason: 'no' });
      await tick(60000);
      assert.equal(sockets.length, 1);
    });
  }

  test('a disconnect push decides over the close frame', async () => {
    const { client, ws, sockets } = await connectedClient(Client);
    let ctx = null;
    client.on('disconnected', (c) => (ctx = c));
    ws.receive({ push: 'disconnect', code: 4502, reason: 'kicked', reconnect: false });
    ws.serverClose(1006); // the close frame itself got lost
    await flush();
    assert.equal(client.state, 'disconnected');
    assert.deepEqual(ctx, { code: 4502, reason: 'kicked' });
    await tick(60000);
    assert.equal(sockets.length, 1);
  });

  test('4002 fetches a fresh token, then reconnects with it', async () => {
    let n = 0;
    const getToken = mock.fn(async () => `token-${++n}`);
    const { client, sockets } = await connectedClient(Client, { getToken });
    assert.equal(getToken.mock.callCount(), 1);
    sockets[0].serverClose(4002, 'token expired');
    await flush();
    assert.equal(client.state, 'connecting');
    await tick(1000);
    assert.equal(getToken.mock.callCount(), 2);
    const { connect } = await acceptReconnect(sockets);
    assert.equal(connect.token, 'token-2');
    assert.equal(client.state, 'connected');
  });

  test('4002 without getToken stops: the same token cannot work', async () => {
    const { client, sockets } = await connectedClient(Client, { token: 'static' });
    sockets[0].serverClose(4002, 'token expired');
    await flush();
    assert.equal(client.state, 'disconnected');
  });

  test('a plain reconnect reuses the token it has', async () => {
    const getToken = mock.fn(async () => 'tok');
    const { sockets } = await connectedClient(Client, { getToken });
    sockets[0].serverClose(1006);
    await tick(1000);
    const { connect } = await acceptReconnect(sockets);
    assert.equal(getToken.mock.callCount(), 1);
    assert.equal(connect.token, 'tok');
  });

  test('connect error 101 stops; 100 retries; 109 refetches the token', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    let n = 0;
    const getToken = mock.fn(async () => `t${++n}`);
    const client = new Client('ws://h/connection', { websocket: WebSocket, getToken });
    client.connect();
    await flush();
    const answer = async (fn) => {
      const ws = sockets.at(-1);
      ws.open();
      await flush();
      const [cmd] = ws.take();
      fn(ws, cmd);
      await flush();
      return cmd;
    };
    await answer((ws, c) => ws.fail(c.id, 100, 'internal error'));
    assert.equal(client.state, 'connecting');
    await tick(1000);
    await answer((ws, c) => ws.fail(c.id, 109, 'token expired'));
    assert.equal(client.state, 'connecting');
    await tick(2000);
    const c3 = await answer((ws, c) => ws.fail(c.id, 101, 'unauthorized'));
    assert.equal(c3.token, 't2', 'a new token after 109');
    assert.equal(client.state, 'disconnected');
  });

  test('a frame that is not JSON drops the connection and reconnects', async () => {
    const { client, ws, sockets } = await connectedClient(Client);
    const errors = [];
    client.on('error', (e) => errors.push(e.type));
    ws.receive('{"id":1', { push: 'pub', channel: 'x', offset: 1 });
    await flush();
    assert.deepEqual(errors, ['protocol']);
    assert.ok(ws.closedByClient);
    assert.equal(client.state, 'connecting');
    await tick(1000);
    assert.equal(sockets.length, 2);
  });

  test('unknown fields and unknown pushes are ignored', async () => {
    const { client, ws } = await connectedClient(Client);
    ws.receive({ push: 'future', channel: 'x' }, { something: 'else' });
    await flush();
    assert.equal(client.state, 'connected');
  });
});

describe('keep-alive and token refresh', () => {
  test('pings every `ping` seconds and reconnects when a ping goes unanswered', async () => {
    const { client, ws, sockets } = await connectedClient(Client, { timeout: 5000 }, { ping: 10 });
    await tick(9999);
    assert.equal(ws.take().length, 0);
    await tick(1);
    let [ping] = ws.take();
    assert.deepEqual(ping, { id: ping.id, op: 'ping' });
    ws.reply(ping.id, {});
    await flush();
    await tick(10000);
    [ping] = ws.take();
    assert.equal(ping.op, 'ping');
    await tick(4999);
    assert.equal(client.state, 'connected');
    await tick(1);
    assert.equal(client.state, 'connecting', 'no pong: connection treated as dead');
    assert.ok(ws.closedByClient);
    await tick(1000);
    assert.equal(sockets.length, 2);
  });

  test('refreshes the token before it expires', async () => {
    const now = Date.now();
    let n = 0;
    const getToken = mock.fn(async () => `t${++n}`);
    const { client, ws } = await connectedClient(Client, { getToken }, { expires: Math.floor(now / 1000) + 120, ping: 0 });
    await tick(89_999);
    assert.equal(getToken.mock.callCount(), 1);
    await tick(1); // 30 s before expiry
    assert.equal(getToken.mock.callCount(), 2);
    const [refresh] = ws.take();
    assert.deepEqual(refresh, { id: refresh.id, op: 'refresh', token: 't2' });
    ws.reply(refresh.id, { expires: Math.floor(now / 1000) + 3600 });
    await flush();
    await tick(3600_000 - 90_000 - 30_001);
    assert.equal(getToken.mock.callCount(), 2);
    await tick(1);
    assert.equal(getToken.mock.callCount(), 3);
    assert.equal(client.state, 'connected');
  });

  test('ICE servers come with the connection and are renewed by a refresh', async () => {
    const now = Date.now();
    const getToken = mock.fn(async () => 'tok');
    const ice = [
      { urls: ['stun:127.0.0.1:3478'] },
      { urls: ['turn:127.0.0.1:3478?transport=udp', 7], username: '1:alice', credential: 'c1' },
      { urls: [] },
      'junk',
    ];
    const { client, ws } = await connectedClient(Client, { getToken },
      { expires: Math.floor(now / 1000) + 120, ping: 0, ice_servers: ice });
    assert.deepEqual(client.iceServers, [
      { urls: ['stun:127.0.0.1:3478'] },
      { urls: ['turn:127.0.0.1:3478?transport=udp'], username: '1:alice', credential: 'c1' },
    ]);
    client.iceServers[0].urls.push('mutated');
    assert.equal(client.iceServers[0].urls.length, 1);
    await tick(90_000);
    const [refresh] = ws.take();
    ws.reply(refresh.id, { expires: Math.floor(now / 1000) + 3600,
      ice_servers: [{ urls: ['turn:127.0.0.1:3478?transport=tcp'], username: '2:alice', credential: 'c2' }] });
    await flush();
    assert.equal(client.iceServers[0].username, '2:alice');
    client.disconnect();
    assert.deepEqual(client.iceServers, []);
  });

  test('a failed refresh is retried', async () => {
    const now = Date.now();
    const getToken = mock.fn(async () => 'tok');
    const { client, ws } = await connectedClient(Client, { getToken }, { expires: Math.floor(now / 1000) + 60, ping: 0 });
    const errors = [];
    client.on('error', (e) => errors.push([e.type, e.error.code]));
    await tick(30_000);
    const [r1] = ws.take();
    ws.fail(r1.id, 113, 'server busy');
    await flush();
    assert.deepEqual(errors, [['refresh', 113]]);
    await tick(1000);
    const [r2] = ws.take();
    assert.equal(r2.op, 'refresh');
  });

  test('refresh attempts stop once the token has run out', async () => {
    const now = Date.now();
    let n = 0;
    const getToken = mock.fn(async () => {
      if (++n > 1) throw new Error('auth service down');
      return 'tok';
    });
    const { client } = await connectedClient(Client, { getToken }, { expires: Math.floor(now / 1000) + 10, ping: 0 });
    client.on('error', () => {});
    for (let i = 0; i < 40; i++) await tick(1000);
    const calls = getToken.mock.callCount();
    assert.ok(calls > 2 && calls < 12, `getToken called ${calls} times`);
    for (let i = 0; i < 40; i++) await tick(1000);
    assert.equal(getToken.mock.callCount(), calls, 'no more attempts after expiry');
  });

  test('no refresh without getToken or without expiry', async () => {
    const { ws } = await connectedClient(Client, { token: 'x' }, { expires: Math.floor(Date.now() / 1000) + 60, ping: 0 });
    await tick(59_000);
    assert.equal(ws.take().length, 0);
  });
});

describe('events', () => {
  test('on() returns an unsubscribe function; a throwing listener does not stop the others', async () => {
    const { WebSocket } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket });
    const seen = [];
    const off = client.on('state', (s) => seen.push(['a', s.newState]));
    // Listener exceptions are rethrown from a microtask; catch them there.
    const uncaught = [];
    mock.method(globalThis, 'queueMicrotask', (fn) => {
      try {
        fn();
      } catch (e) {
        uncaught.push(e.message);
      }
    });
    client.on('state', () => {
      throw new Error('app bug');
    });
    client.on('state', (s) => seen.push(['b', s.newState]));
    client.connect();
    off();
    client.disconnect();
    assert.deepEqual(seen, [['a', 'connecting'], ['b', 'connecting'], ['b', 'disconnected']]);
    assert.deepEqual(uncaught, ['app bug', 'app bug']);
  });

  test('once() fires once', async () => {
    const { client, sockets } = await connectedClient(Client);
    let n = 0;
    client.once('connecting', () => n++);
    sockets[0].serverClose(1006);
    await tick(1000);
    await acceptReconnect(sockets);
    sockets.at(-1).serverClose(1006);
    await flush();
    assert.equal(n, 1);
  });
});

import { test, describe, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Client, ErrorCode } from '../dist/switchboard.js';
import { fakeWebSocket, flush, connectedClient, acceptReconnect, pub, pubPush, CONNECT_RESULT } from './fake-websocket.mjs';

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

const CH = 'chat:lobby';

/** A binary pub push as docs/protocol.md lays it out ("Binary pub pushes"). */
function binaryPub(channel, offset, time, data, from = null) {
  const enc = new TextEncoder();
  const [c, k, u, i] = [channel, from?.client ?? '', from?.user ?? '', from?.info ? JSON.stringify(from.info) : ''].map((x) => enc.encode(x));
  const d = enc.encode(JSON.stringify(data));
  const b = new Uint8Array(28 + c.length + k.length + u.length + i.length + d.length);
  const v = new DataView(b.buffer);
  b[0] = 1;
  b[1] = c.length;
  b[2] = k.length;
  v.setUint32(4, u.length);
  v.setUint32(8, i.length);
  v.setBigUint64(12, BigInt(offset));
  v.setBigInt64(20, BigInt(time));
  let at = 28;
  for (const part of [c, k, u, i, d]) {
    b.set(part, at);
    at += part.length;
  }
  return b.buffer;
}

/** Records what a subscription emits. */
function record(sub) {
  const log = [];
  sub.on('publication', (p) => log.push(['pub', p.offset, p.data]));
  sub.on('subscribed', (c) => log.push(['subscribed', { recovered: c.recovered, wasRecovering: c.wasRecovering, epoch: c.epoch, offset: c.offset, pubs: c.publications.map((p) => p.offset) }]));
  sub.on('subscribing', (c) => log.push(['subscribing', c.code]));
  sub.on('unsubscribed', (c) => log.push(['unsubscribed', c.code]));
  sub.on('join', (c) => log.push(['join', c.client, c.user]));
  sub.on('leave', (c) => log.push(['leave', c.client, c.user]));
  return log;
}

function offsets(log) {
  return log.filter((e) => e[0] === 'pub').map((e) => e[1]);
}

/** A connected client with a subscribed subscription at position (E1, at). */
async function subscribed(at = 10, subOptions = { history: 5 }, clientOptions = {}) {
  const env = await connectedClient(Client, clientOptions);
  const sub = env.client.newSubscription(CH, subOptions);
  const log = record(sub);
  sub.subscribe();
  await flush();
  const [cmd] = env.ws.take();
  env.ws.reply(cmd.id, { epoch: 'E1', offset: at, recoverable: true, publications: [pub(at - 1), pub(at)] });
  await flush();
  return { ...env, sub, log, cmd };
}

/** Drops the connection, reconnects, and returns the subscribe command sent on the new one. */
async function reconnect(env) {
  env.ws.serverClose(1006);
  await tick(1000);
  const { ws } = await acceptReconnect(env.sockets);
  await flush();
  const cmds = ws.take();
  return { ws, cmd: cmds.find((c) => c.op === 'subscribe'), cmds };
}

describe('subscribing', () => {
  test('subscribe sends channel and history; history comes in `subscribed`, not as publications', async () => {
    const { sub, log, cmd, ws } = await subscribed(10);
    assert.deepEqual(cmd, { id: cmd.id, op: 'subscribe', channel: CH, history: 5 });
    assert.equal(sub.state, 'subscribed');
    assert.deepEqual(log, [
      ['subscribing', 0],
      ['subscribed', { recovered: false, wasRecovering: false, epoch: 'E1', offset: 10, pubs: [9, 10] }],
    ]);
    ws.receive(pubPush(CH, 11, { text: 'a' }));
    ws.receive(pubPush(CH, 12, { text: 'b' }));
    assert.deepEqual(log.slice(2), [['pub', 11, { text: 'a' }], ['pub', 12, { text: 'b' }]]);
    assert.deepEqual(sub.lastPosition, { epoch: 'E1', offset: 12 });
  });

  test('publication events carry the channel and the publication fields', async () => {
    const { sub, ws } = await subscribed(0);
    let got = null;
    sub.on('publication', (p) => (got = p));
    ws.receive({ push: 'pub', channel: CH, offset: 1, time: 5, data: 'x', from: { user: 'u', client: 'c', info: { name: 'U' } } });
    assert.deepEqual(got, { channel: CH, offset: 1, time: 5, data: 'x', from: { user: 'u', client: 'c', info: { name: 'U' } } });
  });

  test('binaryPubs: connect asks for binary pushes; binary frames become the same publication events', async () => {
    const { sub, ws, connect, log } = await subscribed(0, { history: 5 }, { binaryPubs: true });
    assert.equal(connect.binary_pubs, true);
    let got = null;
    sub.on('publication', (p) => (got = p));
    ws.onmessage({ data: binaryPub(CH, 1, 5, { text: 'naïve ☃' }, { user: 'ü', client: 'c7', info: { name: 'U' } }) });
    assert.deepEqual(got, { channel: CH, offset: 1, time: 5, data: { text: 'naïve ☃' }, from: { user: 'ü', client: 'c7', info: { name: 'U' } } });
    // A view into a larger buffer, no publisher (server API), data null; then JSON text frames still work.
    const inner = binaryPub(CH, 2, 6, null);
    const big = new Uint8Array(inner.byteLength + 8);
    big.set(new Uint8Array(inner), 4);
    ws.onmessage({ data: new Uint8Array(big.buffer, 4, inner.byteLength) });
    assert.deepEqual(got, { channel: CH, offset: 2, time: 6, data: null });
    ws.receive(pubPush(CH, 3, 'text'));
    assert.deepEqual(log.filter((e) => e[0] === 'pub').map((e) => e[1]), [1, 2, 3]);
  });

  test('binaryPubs: an unreadable binary frame is a protocol error that drops the connection', async () => {
    const { client, ws } = await subscribed(0, { history: 5 }, { binaryPubs: true });
    const errors = [];
    client.on('error', (e) => errors.push(e.error.message));
    const bad = new Uint8Array(binaryPub(CH, 1, 5, 'x'));
    bad[1] = 200; // a channel longer than the frame
    ws.onmessage({ data: bad.buffer });
    await flush();
    assert.deepEqual(errors, ['unreadable binary pub push (code 7)']);
    assert.notEqual(client.state, 'connected');
  });

  test('subscriptions made before connecting go out together right after connect', async () => {
    const { WebSocket, sockets } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket });
    client.newSubscription('chat:a').subscribe();
    client.newSubscription('chat:b', { token: 'S' }).subscribe();
    client.connect();
    await flush();
    sockets[0].open();
    await flush();
    const [connect] = sockets[0].take();
    assert.equal(sockets[0].frames.length, 1, 'connect alone in its frame');
    sockets[0].reply(connect.id, CONNECT_RESULT);
    await flush();
    assert.equal(sockets[0].frames.length, 2);
    const subs = sockets[0].take();
    assert.deepEqual(subs.map((c) => [c.op, c.channel, c.token]), [
      ['subscribe', 'chat:a', undefined],
      ['subscribe', 'chat:b', 'S'],
    ]);
  });

  test('one subscription per channel', async () => {
    const { WebSocket } = fakeWebSocket();
    const client = new Client('ws://h/connection', { websocket: WebSocket });
    const sub = client.newSubscription('chat:a');
    assert.throws(() => client.newSubscription('chat:a'));
    assert.equal(client.getSubscription('chat:a'), sub);
    client.removeSubscription(sub);
    assert.equal(client.getSubscription('chat:a'), null);
    assert.ok(client.newSubscription('chat:a'));
  });

  test('join and leave pushes become events', async () => {
    const { ws, log } = await subscribed(0);
    ws.receive(
      { push: 'join', channel: CH, client: 'c2', user: 'bob', info: { name: 'Bob' } },
      { push: 'leave', channel: CH, client: 'c2', user: 'bob' },
    );
    assert.deepEqual(log.slice(2), [['join', 'c2', 'bob'], ['leave', 'c2', 'bob']]);
  });

  test('a permanent subscribe error ends the subscription with its code', async () => {
    const { client, ws } = await connectedClient(Client);
    const sub = client.newSubscription('secret:x');
    const log = record(sub);
    const errors = [];
    sub.on('error', (e) => errors.push(e.error.code));
    sub.subscribe();
    await flush();
    const [cmd] = ws.take();
    ws.fail(cmd.id, 103, 'permission denied');
    await flush();
    assert.equal(sub.state, 'unsubscribed');
    assert.deepEqual(errors, [103]);
    assert.deepEqual(log, [['subscribing', 0], ['unsubscribed', 103]]);
  });

  test('a temporary subscribe error is retried with backoff', async () => {
    const { client, ws } = await connectedClient(Client);
    const sub = client.newSubscription(CH);
    sub.subscribe();
    await flush();
    ws.fail(ws.take()[0].id, 113, 'server busy');
    await flush();
    assert.equal(sub.state, 'subscribing');
    await tick(749);
    assert.equal(ws.take().length, 0);
    await tick(1);
    const [again] = ws.take();
    assert.equal(again.op, 'subscribe');
    ws.reply(again.id, { epoch: 'E', offset: 0, recoverable: true, publications: [] });
    await flush();
    assert.equal(sub.state, 'subscribed');
  });

  test('a subscription token is fetched, and fetched again after 109', async () => {
    let n = 0;
    const getToken = mock.fn(async (ctx) => `${ctx.channel}-${++n}`);
    const { client, ws } = await connectedClient(Client);
    const sub = client.newSubscription('secret:x', { getToken });
    sub.subscribe();
    await flush();
    const [c1] = ws.take();
    assert.equal(c1.token, 'secret:x-1');
    ws.fail(c1.id, 109, 'token expired');
    await flush();
    await tick(1000);
    const [c2] = ws.take();
    assert.equal(c2.token, 'secret:x-2');
  });

  test('a subscribe without reply forces a reconnect (its state on the server is unknown)', async () => {
    const { client, ws, sockets } = await connectedClient(Client, { timeout: 3000 });
    const sub = client.newSubscription(CH);
    sub.subscribe();
    await flush();
    await tick(3000);
    assert.ok(ws.closedByClient);
    assert.equal(client.state, 'connecting');
    await tick(1000);
    const { ws: ws2 } = await acceptReconnect(sockets);
    await flush();
    assert.equal(ws2.take()[0].op, 'subscribe');
    assert.equal(sub.state, 'subscribing');
  });

  test('unsubscribe sends unsubscribe; unsubscribing during a subscribe undoes it after the reply', async () => {
    const { client, ws, sub, log } = await subscribed(3);
    sub.unsubscribe();
    await flush();
    const [u] = ws.take();
    assert.deepEqual(u, { id: u.id, op: 'unsubscribe', channel: CH });
    assert.equal(log.at(-1)[0], 'unsubscribed');
    ws.receive(pubPush(CH, 4)); // late push: ignored
    assert.equal(offsets(log).length, 0);

    const other = client.newSubscription('chat:b');
    other.subscribe();
    await flush();
    const [s] = ws.take();
    other.unsubscribe();
    await flush();
    assert.equal(ws.take().length, 0, 'nothing to undo yet');
    ws.reply(s.id, { epoch: 'E', offset: 0, recoverable: true, publications: [] });
    await flush();
    const [undo] = ws.take();
    assert.deepEqual([undo.op, undo.channel], ['unsubscribe', 'chat:b']);
    assert.equal(other.state, 'unsubscribed');
  });

  test('a server unsubscribe push with resubscribe=true resubscribes; false ends it', async () => {
    const { ws, sub, log } = await subscribed(3);
    ws.receive({ push: 'unsubscribe', channel: CH, code: 2500, reason: 'moved', resubscribe: true });
    assert.equal(sub.state, 'subscribing');
    await tick(1000);
    const [cmd] = ws.take();
    assert.deepEqual(cmd.recover, { epoch: 'E1', offset: 3 });
    ws.reply(cmd.id, { epoch: 'E1', offset: 3, recoverable: true, recovered: true, publications: [] });
    await flush();
    assert.equal(sub.state, 'subscribed');
    ws.receive({ push: 'unsubscribe', channel: CH, code: 2501, reason: 'gone', resubscribe: false });
    assert.equal(sub.state, 'unsubscribed');
    assert.deepEqual(log.at(-1), ['unsubscribed', 2501]);
  });
});

describe('recovery', () => {
  test('after a reconnect it resubscribes with the last position and replays what was missed, in order', async () => {
    const env = await subscribed(10);
    env.ws.receive(pubPush(CH, 11));
    const states = [];
    env.sub.on('state', (s) => states.push(s.newState));
    const { ws, cmd } = await reconnect(env);
    assert.deepEqual(states, ['subscribing']);
    assert.deepEqual(cmd.recover, { epoch: 'E1', offset: 11 });
    assert.equal(cmd.history, 5, 'history is sent too, for when recovery fails');
    // A push that races ahead of the reply, and one the reply already accounts for.
    ws.receive(pubPush(CH, 14), pubPush(CH, 13));
    ws.reply(cmd.id, { epoch: 'E1', offset: 13, recoverable: true, recovered: true, publications: [pub(12), pub(13)] });
    ws.receive(pubPush(CH, 14), pubPush(CH, 15));
    await flush();
    assert.deepEqual(offsets(env.log), [11, 12, 13, 14, 15]);
    assert.deepEqual(env.log.find((e) => e[0] === 'subscribed' && e[1].wasRecovering)[1], {
      recovered: true, wasRecovering: true, epoch: 'E1', offset: 13, pubs: [12, 13],
    });
    // `subscribed` comes before the replayed publications.
    const i = env.log.findIndex((e) => e[0] === 'subscribed' && e[1].wasRecovering);
    assert.deepEqual(env.log[i + 1], ['pub', 12, { n: 12 }]);
    assert.equal(env.sub.state, 'subscribed');
  });

  test('every publication exactly once across many reconnects', async () => {
    const env = await subscribed(0);
    let serverOffset = 0;
    const published = [];
    const publish = (ws) => {
      serverOffset++;
      published.push(serverOffset);
      ws.receive(pubPush(CH, serverOffset));
    };
    let ws = env.ws;
    for (let round = 0; round < 5; round++) {
      publish(ws);
      publish(ws);
      publish(ws); // ...the client sees these three
      const seen = env.sub.lastPosition.offset;
      serverOffset += 2; // two published while the client is away
      published.push(serverOffset - 1, serverOffset);
      const r = await reconnect({ ...env, ws });
      ws = r.ws;
      const replay = [];
      for (let o = r.cmd.recover.offset + 1; o <= serverOffset; o++) replay.push(pub(o));
      assert.equal(r.cmd.recover.offset, seen);
      // Duplicate push racing the reply:
      ws.receive(pubPush(CH, serverOffset));
      ws.reply(r.cmd.id, { epoch: 'E1', offset: serverOffset, recoverable: true, recovered: true, publications: replay });
      await flush();
    }
    assert.deepEqual(offsets(env.log), published);
  });

  test('recovered=false: subscribed reports it with the history, which is not replayed as publications', async () => {
    const env = await subscribed(10);
    const { ws, cmd } = await reconnect(env);
    ws.reply(cmd.id, { epoch: 'E2', offset: 3, recoverable: true, recovered: false, publications: [pub(1), pub(2), pub(3)] });
    await flush();
    const last = env.log.at(-1);
    assert.deepEqual(last, ['subscribed', { recovered: false, wasRecovering: true, epoch: 'E2', offset: 3, pubs: [1, 2, 3] }]);
    assert.deepEqual(offsets(env.log), []);
    ws.receive(pubPush(CH, 4));
    assert.deepEqual(offsets(env.log), [4], 'continues from the new epoch');
    assert.deepEqual(env.sub.lastPosition, { epoch: 'E2', offset: 4 });
  });

  test('a replay that does not continue the position is not trusted', async () => {
    const env = await subscribed(10);
    const { ws, cmd } = await reconnect(env);
    // Claims recovered but skips 12:
    ws.reply(cmd.id, { epoch: 'E1', offset: 13, recoverable: true, recovered: true, publications: [pub(11), pub(13)] });
    await flush();
    assert.equal(env.log.at(-1)[1].recovered, false);
    assert.deepEqual(offsets(env.log), []);
  });

  test('recover=false never sends a position', async () => {
    const env = await subscribed(10, { recover: false });
    const { cmd } = await reconnect(env);
    assert.equal(cmd.recover, undefined);
  });

  test('a non-recoverable namespace is resubscribed without a position', async () => {
    const env = await connectedClient(Client);
    const sub = env.client.newSubscription('typing:lobby');
    const log = record(sub);
    sub.subscribe();
    await flush();
    const [c1] = env.ws.take();
    env.ws.reply(c1.id, { epoch: 'X', offset: 0, recoverable: false, publications: [] });
    await flush();
    env.ws.receive(pubPush('typing:lobby', 1));
    const { cmd } = await reconnect({ ...env, sub });
    assert.equal(cmd.recover, undefined);
    assert.deepEqual(offsets(log), [1]);
  });

  test('since: the first subscribe recovers from a position the app kept', async () => {
    const { client, ws } = await connectedClient(Client);
    const sub = client.newSubscription(CH, { since: { epoch: 'E1', offset: 40 } });
    sub.subscribe();
    await flush();
    assert.deepEqual(ws.take()[0].recover, { epoch: 'E1', offset: 40 });
  });

  test('a later subscribe() after unsubscribe() recovers from where it stopped', async () => {
    const env = await subscribed(10);
    env.sub.unsubscribe();
    await flush();
    env.ws.take();
    env.sub.subscribe();
    await flush();
    assert.deepEqual(env.ws.take()[0].recover, { epoch: 'E1', offset: 10 });
  });
});

describe('ordering on one connection', () => {
  test('duplicates are dropped', async () => {
    const { ws, log } = await subscribed(10);
    ws.receive(pubPush(CH, 10), pubPush(CH, 11), pubPush(CH, 11), pubPush(CH, 9), pubPush(CH, 12));
    assert.deepEqual(offsets(log), [11, 12]);
  });

  test('a gap is a lost position: unsubscribe, then resubscribe with recovery, and fill it in order', async () => {
    const { ws, log, sub } = await subscribed(10);
    ws.receive(pubPush(CH, 11), pubPush(CH, 13));
    assert.deepEqual(offsets(log), [11]);
    assert.equal(sub.state, 'subscribing');
    await flush();
    const [u] = ws.take();
    assert.deepEqual([u.op, u.channel], ['unsubscribe', CH]);
    ws.receive(pubPush(CH, 14)); // still in flight from before the unsubscribe
    ws.reply(u.id, {});
    await flush();
    const [s] = ws.take();
    assert.equal(s.op, 'subscribe');
    assert.deepEqual(s.recover, { epoch: 'E1', offset: 11 });
    ws.reply(s.id, { epoch: 'E1', offset: 14, recoverable: true, recovered: true, publications: [pub(12), pub(13), pub(14)] });
    ws.receive(pubPush(CH, 15));
    await flush();
    assert.deepEqual(offsets(log), [11, 12, 13, 14, 15]);
    assert.equal(sub.state, 'subscribed');
  });

  test('a gap resubscribe tolerates "not subscribed" from the server', async () => {
    const { ws, sub } = await subscribed(10);
    ws.receive(pubPush(CH, 12));
    await flush();
    const [u] = ws.take();
    ws.fail(u.id, 116, 'not subscribed');
    await flush();
    const [s] = ws.take();
    assert.equal(s.op, 'subscribe');
    ws.reply(s.id, { epoch: 'E1', offset: 12, recoverable: true, recovered: true, publications: [pub(11), pub(12)] });
    await flush();
    assert.equal(sub.state, 'subscribed');
  });

  test('"already subscribed" (105) resubscribes cleanly', async () => {
    const { client, ws } = await connectedClient(Client);
    const sub = client.newSubscription(CH);
    sub.subscribe();
    await flush();
    ws.fail(ws.take()[0].id, 105, 'already subscribed');
    await flush();
    const [u] = ws.take();
    assert.equal(u.op, 'unsubscribe');
    ws.reply(u.id, {});
    await flush();
    const [s] = ws.take();
    assert.equal(s.op, 'subscribe');
  });

  test('a handler that unsubscribes stops delivery at once', async () => {
    const env = await subscribed(10);
    const seen = [];
    env.sub.on('publication', (p) => {
      seen.push(p.offset);
      if (p.offset === 12) env.sub.unsubscribe();
    });
    const { ws, cmd } = await reconnect(env);
    ws.reply(cmd.id, { epoch: 'E1', offset: 14, recoverable: true, recovered: true, publications: [pub(11), pub(12), pub(13), pub(14)] });
    await flush();
    assert.deepEqual(seen, [11, 12]);
  });

  test('publications without an offset are delivered as they come', async () => {
    const { ws, log } = await subscribed(10);
    ws.receive({ push: 'pub', channel: CH, time: 1, data: 'a' }, { push: 'pub', channel: CH, time: 2, data: 'b' });
    assert.deepEqual(log.filter((e) => e[0] === 'pub').map((e) => e[2]), ['a', 'b']);
  });

  test('subscription helpers call the client with the channel', async () => {
    const { ws, sub } = await subscribed(10);
    sub.publish({ text: 'x' }).catch(() => {});
    sub.history({ limit: 3 }).catch(() => {});
    sub.presence().catch(() => {});
    sub.presenceStats().catch(() => {});
    await flush();
    assert.deepEqual(ws.take().map((c) => [c.op, c.channel]), [
      ['publish', CH], ['history', CH], ['presence', CH], ['presence_stats', CH],
    ]);
  });

  test('a terminal disconnect keeps subscriptions for the next connect()', async () => {
    const env = await subscribed(10);
    env.client.disconnect();
    assert.equal(env.sub.state, 'subscribing');
    env.client.connect();
    await flush();
    const { ws } = await acceptReconnect(env.sockets);
    await flush();
    assert.deepEqual(ws.take()[0].recover, { epoch: 'E1', offset: 10 });
  });

  test('ErrorCode constants match the protocol table', () => {
    assert.equal(ErrorCode.PermissionDenied, 103);
    assert.equal(ErrorCode.NotSubscribed, 116);
  });
});

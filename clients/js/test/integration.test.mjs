// The client in Node 20 over real WebSockets (the `ws` package), against the in-memory stand-in
// server. Real timers, short delays.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Client, ErrorCode } from '../dist/switchboard.js';
import { startMiniServer } from './mini-server.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, what, ms = 3000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('over real WebSockets', () => {
  let server;
  const clients = [];
  const make = (opts = {}) => {
    const c = new Client(server.url, { websocket: WebSocket, minReconnectDelay: 20, maxReconnectDelay: 100, timeout: 2000, ...opts });
    clients.push(c);
    return c;
  };
  before(async () => {
    server = await startMiniServer();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.close();
  });

  test('connect, subscribe, publish and receive; presence; history', async () => {
    const a = make({ name: 'Ann' });
    const b = make({ name: 'Ben' });
    const sub = a.newSubscription('chat:one', { history: 10 });
    const got = [];
    sub.on('publication', (p) => got.push([p.offset, p.data.text, p.from?.info?.name]));
    sub.subscribe();
    a.connect();
    b.connect();
    await Promise.all([a.ready(), b.ready()]);
    await until(() => sub.state === 'subscribed', 'subscribed');
    const r = await b.publish('chat:one', { text: 'hi' });
    assert.equal(r.offset, 1);
    await until(() => got.length === 1, 'publication');
    assert.deepEqual(got, [[1, 'hi', 'Ben']]);
    const pres = await b.presence('chat:one');
    assert.equal(pres.clients.length, 1);
    assert.deepEqual(pres.clients[0].info, { name: 'Ann' });
    const h = await b.history('chat:one', { limit: 5 });
    assert.deepEqual(h.publications.map((p) => p.data.text), ['hi']);
    await assert.rejects(b.presence('typing:one'), (e) => e.code === ErrorCode.NotAvailable && e.reason === 'not available');
  });

  test('after the connection is cut, the subscription recovers what it missed, exactly once', async () => {
    const a = make();
    const sub = a.newSubscription('chat:two', { history: 10 });
    const got = [];
    const subscribed = [];
    sub.on('publication', (p) => got.push(p.offset));
    sub.on('subscribed', (c) => subscribed.push([c.wasRecovering, c.recovered]));
    sub.subscribe();
    a.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    for (let i = 0; i < 3; i++) server.publish('chat:two', { text: `a${i}` });
    await until(() => got.length === 3, 'first three');
    let reconnects = 0;
    a.on('connected', () => reconnects++);
    for (let round = 0; round < 3; round++) {
      server.dropAll();
      for (let i = 0; i < 4; i++) server.publish('chat:two', { text: `r${round}-${i}` });
      await until(() => reconnects === round + 1 && sub.state === 'subscribed', 'reconnected');
      server.publish('chat:two', { text: 'after' });
    }
    await until(() => got.length === 18, 'all eighteen');
    assert.deepEqual(got, Array.from({ length: 18 }, (_, i) => i + 1));
    assert.deepEqual(subscribed, [[false, false], [true, true], [true, true], [true, true]]);
  });

  test('a lost epoch is reported as recovered=false with the new history', async () => {
    const a = make();
    const sub = a.newSubscription('chat:three', { history: 2 });
    const subscribed = [];
    sub.on('subscribed', (c) => subscribed.push(c));
    sub.subscribe();
    a.connect();
    await until(() => sub.state === 'subscribed', 'subscribed');
    server.publish('chat:three', 'x');
    await sleep(20);
    server.resetChannel('chat:three');
    server.publish('chat:three', 'y');
    server.dropAll();
    await until(() => subscribed.length === 2, 'resubscribed');
    assert.equal(subscribed[1].recovered, false);
    assert.equal(subscribed[1].wasRecovering, true);
    assert.deepEqual(subscribed[1].publications.map((p) => p.data), ['y']);
  });

  test('a close code of 4500-4999 stops the client; 4000-4499 reconnects', async () => {
    const a = make();
    a.connect();
    await a.ready();
    const states = [];
    a.on('state', (s) => states.push(s.newState));
    server.disconnectAll(4000, 'api');
    await until(() => states.at(-1) === 'connected', 'reconnect after 4000');
    server.disconnectAll(4502, 'go away');
    await until(() => a.state === 'disconnected', 'stopped after 4502');
    await sleep(150);
    assert.equal(a.state, 'disconnected');
    assert.deepEqual(states, ['connecting', 'connected', 'disconnected']);
  });
});

// Interop test: Switchboard against the `ws` npm package (Node's most used WebSocket client).
//
// Usage (from the repo root):
//   node tests/interop/node_ws_test.mjs --switchboard build/dev/switchboard
//
// Prints one line per check (PASS/FAIL), then a final line `N passed, N failed`.
// Exit status 0 only if every check passed. Every wait is bounded; a watchdog ends the run
// (counting a failure) if it takes longer than --budget seconds (default 55).
import WebSocket from 'ws';
import { Switchboard, killAll } from './lib/switchboard_proc.mjs';
import {
  SIZES, KINDS, UNICODE_SAMPLES, TEXT_UNIT, parseArgs, binaryUsable, Report, withTimeout,
  payload, randomBytes, describeMismatch, sleep,
} from './lib/common.mjs';

const OP_TIMEOUT = 10000;
const SHUTDOWN_TIMEOUT = 15000;
const R = new Report();
const args = parseArgs();
const servers = [];

// ------------------------------------------------------------------------------------------
// A ws client with a receive queue.

class Conn {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.errors = [];
    this.responseHeaders = null;
    this.closeInfo = null;
    this.closed = new Promise((res) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${code})`));
        res(this.closeInfo);
      });
    });
    ws.on('message', (data, isBinary) => {
      const m = { data: Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data), isBinary };
      const w = this.waiters.shift();
      if (w) w.resolve(m); else this.queue.push(m);
    });
    ws.on('error', (e) => { this.errors.push(e); });
  }

  static open(url, { protocols, ...opts } = {}) {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: OP_TIMEOUT, maxPayload: 64 << 20, ...opts });
    const c = new Conn(ws);
    ws.on('upgrade', (res) => { c.responseHeaders = res.headers; });
    return withTimeout(new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', (e) => reject(e));
      ws.once('close', (code) => reject(new Error(`closed during handshake (${code})`)));
    }), OP_TIMEOUT + 1000, `connect ${url}`);
  }

  next(timeout = OP_TIMEOUT) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`connection closed (${this.closeInfo.code})`));
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; this.waiters.push(waiter); });
    return withTimeout(p, timeout, 'receive').catch((e) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw e;
    });
  }

  send(data, opts = {}, timeout = OP_TIMEOUT) {
    return withTimeout(new Promise((resolve, reject) => {
      this.ws.send(data, opts, (err) => (err ? reject(err) : resolve()));
    }), timeout, 'send');
  }

  async close(code = 1000, reason = '', timeout = 6000) {
    if (this.ws.readyState === WebSocket.CLOSED) return this.closeInfo;
    try {
      this.ws.close(code, reason);
      return await withTimeout(this.closed, timeout, 'close');
    } catch (e) {
      this.ws.terminate();
      throw e;
    }
  }

  async closeQuietly() {
    try { await this.close(); } catch { /* ignore */ }
  }

  get extHeader() { return (this.responseHeaders && this.responseHeaders['sec-websocket-extensions']) || ''; }
}

function matches(expected, m) {
  // expected: { text, data } ; m: { data: Buffer, isBinary }
  const want = Buffer.isBuffer(expected.data) ? expected.data : Buffer.from(expected.data, 'utf8');
  if (m.isBinary === expected.text) return `opcode: sent ${expected.text ? 'text' : 'binary'}, got ${m.isBinary ? 'binary' : 'text'}`;
  if (!want.equals(m.data)) return describeMismatch(want, m.data);
  return null;
}

async function echoOne(c, expected, timeout = OP_TIMEOUT) {
  await c.send(expected.data, { binary: !expected.text }, timeout);
  return c.next(timeout);
}

async function attempt(name, fn) {
  try {
    await fn();
  } catch (e) {
    R.check(name, false, String(e && e.stack ? e.message : e));
  }
}

async function startServer(extra) {
  const sb = new Switchboard(args.switchboard, extra, { timeout: 10000 });
  servers.push(sb);
  await sb.start();
  return sb;
}

async function stopServer(sb, label) {
  try {
    const code = await sb.stop(SHUTDOWN_TIMEOUT);
    R.check(`[${label}] server exits 0 on SIGTERM`, code === 0, `exit code ${code ?? sb.exitSignal}`);
  } catch (e) {
    R.check(`[${label}] server exits 0 on SIGTERM`, false, e.message);
  }
}

// ------------------------------------------------------------------------------------------
// checks

async function echoMatrix(sb, label, opts) {
  const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
  try {
    for (const n of SIZES) {
      for (const kind of KINDS) {
        const name = `[${label}] echo ${kind} ${n} B`;
        await attempt(name, async () => {
          const p = payload(kind, n);
          const m = await echoOne(c, p, OP_TIMEOUT + n / 256);
          const bad = matches(p, m);
          R.check(name, bad === null, bad || '');
        });
      }
    }
  } finally {
    await c.closeQuietly();
  }
}

async function unicodeChecks(sb, label, opts) {
  const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
  try {
    for (const [i, s] of UNICODE_SAMPLES.entries()) {
      const name = `[${label}] unicode text #${i} (${Buffer.byteLength(s)} B UTF-8) byte-exact`;
      await attempt(name, async () => {
        const m = await echoOne(c, { text: true, data: s });
        const bad = matches({ text: true, data: s }, m);
        R.check(name, bad === null, bad || '');
      });
    }
    // A text message in three frames, each boundary splitting a multi-byte code point.
    // RFC 6455 5.6/8.1: only the reassembled message must be valid UTF-8.
    const name = `[${label}] fragmented text with code points split across frames echoed byte-exact`;
    await attempt(name, async () => {
      const whole = Buffer.from('start 🎉 middle 日本 end', 'utf8');
      const cut1 = whole.indexOf(Buffer.from('🎉')) + 2;          // inside the 4-byte emoji
      const cut2 = whole.indexOf(Buffer.from('日')) + 1;          // inside a 3-byte char
      await c.send(whole.subarray(0, cut1), { binary: false, fin: false });
      await c.send(whole.subarray(cut1, cut2), { binary: false, fin: false });
      await c.send(whole.subarray(cut2), { binary: false, fin: true });
      const m = await c.next();
      const bad = matches({ text: true, data: whole }, m);
      R.check(name, bad === null, bad || '');
    });
    const nameB = `[${label}] fragmented binary (4 frames, one empty) reassembled`;
    await attempt(nameB, async () => {
      const parts = [Buffer.from([0, 1]), Buffer.alloc(0), Buffer.alloc(70000, 0xff), Buffer.from('tail')];
      for (const [i, p] of parts.entries()) await c.send(p, { binary: true, fin: i === parts.length - 1 });
      const m = await c.next();
      const bad = matches({ text: false, data: Buffer.concat(parts) }, m);
      R.check(nameB, bad === null, bad || '');
    });
  } finally {
    await c.closeQuietly();
  }
}

async function invalidUtf8Check(sb, label, opts) {
  // RFC 6455 8.1: an endpoint receiving a text message that is not valid UTF-8 MUST fail the
  // connection; 7.4.1: status 1007 is the code for that.
  const name = `[${label}] text message with invalid UTF-8 -> server fails the connection with 1007`;
  await attempt(name, async () => {
    const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
    try {
      await c.send(Buffer.from([0x6f, 0x6b, 0xc3, 0x28, 0xff]), { binary: false });
      const info = await withTimeout(c.closed, OP_TIMEOUT, 'close after invalid UTF-8');
      const clientSide = c.errors.find((e) => /UTF-8/i.test(e.message));
      R.check(name, info.code === 1007 && !clientSide && c.queue.length === 0,
        `close code ${info.code}${clientSide ? `, server echoed the invalid text (client error: ${clientSide.message})` : ''}`
        + `${c.queue.length ? `, ${c.queue.length} message(s) received` : ''}`);
    } finally {
      c.ws.terminate();
    }
  });
}

function pipelinedMsg(i) {
  const n = (i * 37) % 1500 + (i % 250 === 7 ? 70000 : 0);
  const head = `#${String(i).padStart(5, '0')}:`;
  const s = (head + TEXT_UNIT.repeat(Math.ceil(n / TEXT_UNIT.length) + 1)).slice(0, Math.max(n, head.length));
  return i % 2 === 0 ? { text: true, data: s } : { text: false, data: Buffer.from(s) };
}

async function pipelined(sb, label, opts, count = 1000) {
  const name = `[${label}] ${count} pipelined text/binary messages echoed in order`;
  await attempt(name, async () => {
    const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
    try {
      const msgs = Array.from({ length: count }, (_, i) => pipelinedMsg(i));
      const sends = msgs.map((m) => c.send(m.data, { binary: !m.text }, 30000));
      let bad = null;
      for (let i = 0; i < count; i++) {
        const m = await c.next(30000);
        const why = matches(msgs[i], m);
        if (why && bad === null) bad = `message ${i}: ${why}`;
      }
      await withTimeout(Promise.all(sends), 5000, 'send completion');
      R.check(name, bad === null, bad || '');
    } finally {
      await c.closeQuietly();
    }
  });
}

async function windowBitsCheck(sb, label) {
  // RFC 7692 7.1.2.1: a server accepting an offer with server_max_window_bits=10 MUST include
  // server_max_window_bits (<= 10) in its response and must not use a larger window; or decline.
  const name = `[${label}] offer server_max_window_bits=10: honoured or declined, long-range data echoes`;
  await attempt(name, async () => {
    const c = await Conn.open(`${sb.wsUrl}/echo`, { perMessageDeflate: { serverMaxWindowBits: 10 } });
    try {
      const hdr = c.extHeader;
      const accepted = /permessage-deflate/.test(hdr);
      const wb = /server_max_window_bits=(\d+)/.exec(hdr);
      const negOk = !accepted || (wb !== null && Number(wb[1]) <= 10 && Number(wb[1]) >= 8);
      const block = randomBytes(3000, 7692);               // repeats at distance 3000 > 1 KiB
      const p = { text: false, data: Buffer.concat(Array(40).fill(block)) };
      const m = await echoOne(c, p);
      const bad = matches(p, m);
      R.check(name, negOk && bad === null, `response: ${JSON.stringify(hdr)}${bad ? `; ${bad}` : ''}`);
    } finally {
      await c.closeQuietly();
    }
  });
}

async function pingAndClose(sb, label, opts) {
  const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
  await attempt(`[${label}] ping answered with pong carrying the same payload`, async () => {
    const got = withTimeout(new Promise((res) => c.ws.once('pong', (d) => res(d))), OP_TIMEOUT, 'pong');
    c.ws.ping(Buffer.from('switchboard-ping'));
    const d = await got;
    R.check(`[${label}] ping answered with pong carrying the same payload`, d.toString() === 'switchboard-ping', `pong ${JSON.stringify(d.toString())}`);
  });
  await attempt(`[${label}] client close 1000: server echoes close code 1000`, async () => {
    const info = await c.close(1000, 'bye', 8000);
    R.check(`[${label}] client close 1000: server echoes close code 1000`, info.code === 1000, `close code ${info.code}`);
  });
}

// ------------------------------------------------------------------------------------------
// scenarios

async function scenarioDefault() {
  const label = 'shared';
  const sb = await startServer(['--echo']);
  try {
    await attempt('GET /healthz -> 200', async () => {
      const r = await sb.get('/healthz');
      R.check('GET /healthz -> 200', r.status === 200, `status ${r.status}`);
    });
    const noDeflate = { perMessageDeflate: false };
    const deflate = { perMessageDeflate: true };

    await attempt(`[${label}/client-no-deflate] no extension negotiated`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, noDeflate);
      R.check(`[${label}/client-no-deflate] no extension negotiated`, c.ws.extensions === '' && c.extHeader === '',
        `extensions=${JSON.stringify(c.ws.extensions)} header=${JSON.stringify(c.extHeader)}`);
      await c.closeQuietly();
    });
    await attempt(`[${label}/deflate] permessage-deflate with server_no_context_takeover`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, deflate);
      R.check(`[${label}/deflate] permessage-deflate negotiated`, c.ws.extensions === 'permessage-deflate',
        `extensions=${JSON.stringify(c.ws.extensions)}`);
      R.check(`[${label}/deflate] server replied server_no_context_takeover`,
        /permessage-deflate/.test(c.extHeader) && /server_no_context_takeover/.test(c.extHeader),
        `header=${JSON.stringify(c.extHeader)}`);
      await c.closeQuietly();
    });
    for (const [sub, opts] of [['client-no-deflate', noDeflate], ['deflate', deflate]]) {
      await attempt(`[${label}/${sub}] echo matrix`, () => echoMatrix(sb, `${label}/${sub}`, opts));
      await attempt(`[${label}/${sub}] unicode`, () => unicodeChecks(sb, `${label}/${sub}`, opts));
      await pipelined(sb, `${label}/${sub}`, opts);
      await invalidUtf8Check(sb, `${label}/${sub}`, opts);
    }
    await windowBitsCheck(sb, label);
    await attempt(`[${label}] ping/close`, () => pingAndClose(sb, label, deflate));
  } finally {
    await stopServer(sb, label);
  }
}

async function scenarioDedicated() {
  const label = 'dedicated';
  const sb = await startServer(['--echo', '--compression', 'dedicated']);
  const opts = { perMessageDeflate: true };
  try {
    await attempt(`[${label}] permessage-deflate negotiated`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
      R.check(`[${label}] permessage-deflate negotiated`, c.ws.extensions === 'permessage-deflate', `header=${JSON.stringify(c.extHeader)}`);
      await c.closeQuietly();
    });
    await attempt(`[${label}] echo matrix`, () => echoMatrix(sb, label, opts));
    await attempt(`[${label}] unicode`, () => unicodeChecks(sb, label, opts));
    await pipelined(sb, label, opts);
    await attempt(`[${label}] 50 identical compressible messages (context takeover)`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
      try {
        const p = payload('text-compressible', 5000);
        let bad = null;
        for (let i = 0; i < 50 && bad === null; i++) bad = matches(p, await echoOne(c, p));
        R.check(`[${label}] 50 identical compressible messages (context takeover)`, bad === null, bad || '');
      } finally {
        await c.closeQuietly();
      }
    });
    await windowBitsCheck(sb, label);
  } finally {
    await stopServer(sb, label);
  }
}

async function scenarioOff() {
  const label = 'compression-off';
  const sb = await startServer(['--echo', '--compression', 'off']);
  const opts = { perMessageDeflate: true };
  try {
    await attempt(`[${label}] client offers deflate, server negotiates no extension`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, opts);
      R.check(`[${label}] client offers deflate, server negotiates no extension`, c.ws.extensions === '' && c.extHeader === '',
        `header=${JSON.stringify(c.extHeader)}`);
      await c.closeQuietly();
    });
    await attempt(`[${label}] echo matrix`, () => echoMatrix(sb, label, opts));
    await attempt(`[${label}] unicode`, () => unicodeChecks(sb, label, opts));
    await pipelined(sb, label, opts);
  } finally {
    await stopServer(sb, label);
  }
}

function bcMsg(sender, seq) {
  const pad = TEXT_UNIT.repeat(30).slice(0, (seq * 53) % 2000);
  const s = `${sender}:${seq}:${pad}`;
  return seq % 3 ? { text: true, data: s } : { text: false, data: Buffer.from(s) };
}

async function scenarioBroadcast() {
  const label = 'broadcast';
  const sb = await startServer(['--echo']);
  const clients = [];
  try {
    for (const pmd of [true, false, true]) clients.push(await Conn.open(`${sb.wsUrl}/broadcast`, { perMessageDeflate: pmd }));
    R.check(`[${label}] 3 clients connected (deflate, none, deflate)`,
      clients.map((c) => c.ws.extensions).join('|') === 'permessage-deflate||permessage-deflate',
      clients.map((c) => JSON.stringify(c.ws.extensions)).join(' '));

    // phase 1: one sender, every client (sender included) receives every message in order
    const n1 = 100;
    const msgs = Array.from({ length: n1 }, (_, i) => bcMsg('A', i));
    await Promise.all(msgs.map((m) => clients[0].send(m.data, { binary: !m.text })));
    for (const [i, c] of clients.entries()) {
      const name = `[${label}] client ${i} got all ${n1} messages from client 0 in order`;
      await attempt(name, async () => {
        let bad = null;
        for (let k = 0; k < n1; k++) {
          const why = matches(msgs[k], await c.next(15000));
          if (why && bad === null) bad = `message ${k}: ${why}`;
        }
        R.check(name, bad === null, bad || '');
      });
    }

    // phase 2: three concurrent senders; per-sender FIFO at every receiver
    const n2 = 60;
    const senders = ['A', 'B', 'C'];
    await Promise.all(clients.flatMap((c, idx) => Array.from({ length: n2 }, (_, i) => {
      const m = bcMsg(senders[idx], i);
      return c.send(m.data, { binary: !m.text });
    })));
    for (const [i, c] of clients.entries()) {
      const name = `[${label}] client ${i} got all ${3 * n2} messages of 3 concurrent senders, per-sender order`;
      await attempt(name, async () => {
        const per = { A: [], B: [], C: [] };
        let bad = null;
        for (let k = 0; k < 3 * n2; k++) {
          const m = await c.next(15000);
          const [snd, seq] = m.data.toString('latin1').split(':');
          const why = per[snd] ? matches(bcMsg(snd, Number(seq)), m) : `unexpected message from ${snd}`;
          if (why && bad === null) bad = why;
          if (per[snd]) per[snd].push(Number(seq));
        }
        const inOrder = senders.every((s) => per[s].length === n2 && per[s].every((v, j) => v === j));
        R.check(name, bad === null && inOrder, bad || (inOrder ? '' : JSON.stringify(Object.fromEntries(Object.entries(per).map(([k, v]) => [k, v.slice(0, 10)])))));
      });
    }

    // a large message through broadcast
    const big = payload('binary-random', 1 << 20);
    await clients[2].send(big.data, { binary: true });
    for (const [i, c] of clients.entries()) {
      const name = `[${label}] client ${i} got 1 MiB binary broadcast intact`;
      await attempt(name, async () => {
        const bad = matches(big, await c.next(15000));
        R.check(name, bad === null, bad || '');
      });
    }
  } catch (e) {
    R.check(`[${label}] scenario`, false, e.message);
  } finally {
    await Promise.all(clients.map((c) => c.closeQuietly()));
    await stopServer(sb, label);
  }
}

async function scenarioSubprotocol() {
  const label = 'subprotocol';
  const sb = await startServer(['--echo', '--subprotocol', 'superchat']);
  try {
    await attempt(`[${label}] offer [chat, superchat] -> superchat`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`, { protocols: ['chat', 'superchat'] });
      R.check(`[${label}] offer [chat, superchat] -> superchat`, c.ws.protocol === 'superchat', `protocol=${JSON.stringify(c.ws.protocol)}`);
      const m = await echoOne(c, { text: true, data: 'hello' });
      R.check(`[${label}] echo works on negotiated subprotocol`, matches({ text: true, data: 'hello' }, m) === null);
      await c.closeQuietly();
    });
    await attempt(`[${label}] no offer -> no subprotocol in response`, async () => {
      const c = await Conn.open(`${sb.wsUrl}/echo`);
      R.check(`[${label}] no offer -> no subprotocol in response`, c.ws.protocol === '', `protocol=${JSON.stringify(c.ws.protocol)}`);
      await c.closeQuietly();
    });
  } finally {
    await stopServer(sb, label);
  }
}

async function scenarioShutdown() {
  const label = 'shutdown';
  const sb = await startServer(['--echo']);
  try {
    const e = await Conn.open(`${sb.wsUrl}/echo`, { perMessageDeflate: true });
    const b = await Conn.open(`${sb.wsUrl}/broadcast`, { perMessageDeflate: false });
    R.check(`[${label}] echo works before SIGTERM`, matches({ text: true, data: 'before' }, await echoOne(e, { text: true, data: 'before' })) === null);
    const t0 = Date.now();
    sb.signal('SIGTERM');
    for (const [path, c] of [['/echo', e], ['/broadcast', b]]) {
      const name = `[${label}] ${path} client sees close code 1001 after SIGTERM`;
      await attempt(name, async () => {
        const info = await withTimeout(c.closed, SHUTDOWN_TIMEOUT, 'close after SIGTERM');
        R.check(name, info.code === 1001, `close code ${info.code} reason ${JSON.stringify(info.reason)} after ${(Date.now() - t0) / 1000}s`);
      });
    }
    await attempt(`[${label}] server exits 0 after SIGTERM`, async () => {
      const code = await sb.waitExit(SHUTDOWN_TIMEOUT);
      R.check(`[${label}] server exits 0 after SIGTERM`, code === 0, `exit ${code ?? sb.exitSignal} after ${(Date.now() - t0) / 1000}s`);
    });
  } finally {
    sb.kill();
  }
}

// ------------------------------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  console.log(`# ws ${(await import('ws/package.json', { with: { type: 'json' } }).catch(() => ({ default: { version: '?' } }))).default.version}, node ${process.version}, switchboard ${args.switchboard}`);
  R.watchdog(args.budget);
  if (!binaryUsable(args.switchboard)) {
    R.check('switchboard binary exists and is executable', false, args.switchboard);
  } else {
    for (const sc of [scenarioDefault, scenarioDedicated, scenarioOff, scenarioBroadcast, scenarioSubprotocol, scenarioShutdown]) {
      try {
        await sc();
      } catch (e) {
        R.check(`${sc.name} completed`, false, e.message);
      }
    }
  }
  killAll();
  console.log(`# took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  R.summary();
  process.exit(R.exitCode);
}

main().catch((e) => {
  R.check('unexpected error', false, e.stack);
  killAll();
  R.summary();
  process.exit(1);
});

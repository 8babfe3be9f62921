// Interop test: Switchboard against Chromium's WebSocket (Debian's /usr/bin/chromium driven by
// playwright-core over --remote-debugging-pipe).
//
// Usage (from the repo root):
//   node tests/interop/chromium_test.mjs --switchboard build/dev/switchboard
//
// The page is loaded from the server itself (GET /healthz), so http://127.0.0.1:PORT is the
// page's origin (a secure context, same origin as the WebSocket). All WebSocket work runs in the
// page; payloads are generated and compared there.
// Prints one line per check (PASS/FAIL), then a final line `N passed, N failed`.
// Exit status 0 only if every check passed; bounded by a watchdog (--budget, default 55 s).
import fs from 'node:fs';
import { CHROMIUM, launchChromium } from './lib/chromium.mjs';
import { Switchboard, killAll } from './lib/switchboard_proc.mjs';
import { SIZES, KINDS, UNICODE_SAMPLES, parseArgs, binaryUsable, Report, withTimeout } from './lib/common.mjs';

const SHUTDOWN_TIMEOUT = 15000;
const R = new Report();
const args = parseArgs();
let browser = null;

// ------------------------------------------------------------------------------------------
// Runs inside the page: installs window.T.

function pageLib() {
  const withTimeout = (p, ms, what) => {
    let t;
    return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms); })])
      .finally(() => clearTimeout(t));
  };

  class Conn {
    constructor(url, protocols) {
      this.ws = protocols === undefined ? new WebSocket(url) : new WebSocket(url, protocols);
      this.ws.binaryType = 'arraybuffer';
      this.queue = [];
      this.waiters = [];
      this.closeInfo = null;
      this.errored = false;
      this.opened = new Promise((res, rej) => {
        this.ws.onopen = () => res(this);
        this.ws.addEventListener('error', () => rej(new Error('error event during handshake')), { once: true });
      });
      this.opened.catch(() => {});
      this.ws.addEventListener('error', () => { this.errored = true; });
      this.closed = new Promise((res) => {
        this.ws.onclose = (e) => {
          this.closeInfo = { code: e.code, reason: e.reason, wasClean: e.wasClean };
          for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${e.code})`));
          res(this.closeInfo);
        };
      });
      this.ws.onmessage = (e) => {
        const w = this.waiters.shift();
        if (w) w.resolve(e.data); else this.queue.push(e.data);
      };
    }

    static async open(url, protocols, ms = 10000) {
      const c = new Conn(url, protocols);
      await withTimeout(c.opened, ms, `open ${url}`);
      return c;
    }

    next(ms = 10000) {
      if (this.queue.length) return Promise.resolve(this.queue.shift());
      if (this.closeInfo) return Promise.reject(new Error(`connection closed (${this.closeInfo.code})`));
      let waiter;
      const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; this.waiters.push(waiter); });
      return withTimeout(p, ms, 'receive').catch((e) => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        throw e;
      });
    }

    async close(code = 1000, reason = '', ms = 8000) {
      if (this.ws.readyState === WebSocket.CLOSED) return this.closeInfo;
      this.ws.close(code, reason);
      return withTimeout(this.closed, ms, 'close');
    }
  }

  const UNIT = 'The quick brown fox jumps over the lazy dog. 0123456789 Switchboard!\n';
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function randomBytes(n) {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(a.subarray(i, Math.min(n, i + 65536)));
    return a;
  }
  function payload(kind, n) {
    if (kind === 'text-compressible') return UNIT.repeat(Math.ceil(n / UNIT.length) + 1).slice(0, n);
    if (kind === 'text-random') {
      const a = randomBytes(n);
      for (let i = 0; i < n; i++) a[i] = B64.charCodeAt(a[i] & 63);
      return new TextDecoder().decode(a);
    }
    if (kind === 'binary-compressible') {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = i & 0xff;
      return a.buffer;
    }
    if (kind === 'binary-random') return randomBytes(n).buffer;
    throw new Error(kind);
  }
  function bytesDiff(a, b) {
    if (a.length !== b.length) return `length sent ${a.length}, got ${b.length}`;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first differing byte at ${i}: sent ${a[i]}, got ${b[i]}`;
    return null;
  }
  // null when equal, else a reason
  function compare(sent, got) {
    if (typeof sent === 'string') {
      if (typeof got !== 'string') return `sent text, got ${got instanceof ArrayBuffer ? 'binary' : typeof got}`;
      if (got === sent) return null;
      return bytesDiff(new TextEncoder().encode(sent), new TextEncoder().encode(got)) || 'strings differ';
    }
    if (!(got instanceof ArrayBuffer)) return `sent binary, got ${typeof got}`;
    return bytesDiff(new Uint8Array(sent), new Uint8Array(got));
  }

  const conns = {};
  const T = {
    async open(id, url, protocols) {
      const c = await Conn.open(url, protocols);
      conns[id] = c;
      return { extensions: c.ws.extensions, protocol: c.ws.protocol };
    },
    async close(id, code = 1000, reason = '') {
      const c = conns[id];
      delete conns[id];
      return c.close(code, reason);
    },
    async echo(id, kind, n) {
      const c = conns[id];
      const msg = payload(kind, n);
      c.ws.send(msg);
      const got = await c.next(10000 + n / 256);
      return compare(msg, got);
    },
    async unicode(id, samples) {
      const c = conns[id];
      const out = [];
      for (const s of samples) {
        try {
          c.ws.send(s);
          const got = await c.next();
          const bad = compare(s, got);
          // byte-exactness: the UTF-8 encodings must match too
          out.push(bad || bytesDiff(new TextEncoder().encode(s), new TextEncoder().encode(got)));
        } catch (e) {
          out.push(String(e));
        }
      }
      return out;
    },
    async pipelined(id, count) {
      const c = conns[id];
      const msgs = [];
      for (let i = 0; i < count; i++) {
        const n = (i * 37) % 1500 + (i % 250 === 7 ? 70000 : 0);
        const head = `#${String(i).padStart(5, '0')}:`;
        const s = (head + UNIT.repeat(Math.ceil(n / UNIT.length) + 1)).slice(0, Math.max(n, head.length));
        msgs.push(i % 2 === 0 ? s : new TextEncoder().encode(s).buffer);
      }
      for (const m of msgs) c.ws.send(m);
      for (let i = 0; i < count; i++) {
        const bad = compare(msgs[i], await c.next(30000));
        if (bad) return `message ${i}: ${bad}`;
      }
      return null;
    },
    async broadcast(url) {
      const out = [];
      const cs = [];
      try {
        for (let i = 0; i < 3; i++) cs.push(await Conn.open(url));
        out.push(['3 clients connected', null]);
        const mk = (snd, seq) => {
          const s = `${snd}:${seq}:${UNIT.repeat(30).slice(0, (seq * 53) % 2000)}`;
          return seq % 3 ? s : new TextEncoder().encode(s).buffer;
        };
        const n1 = 100;
        for (let i = 0; i < n1; i++) cs[0].ws.send(mk('A', i));
        for (const [k, c] of cs.entries()) {
          let bad = null;
          try {
            for (let i = 0; i < n1 && !bad; i++) bad = compare(mk('A', i), await c.next(15000));
          } catch (e) { bad = String(e); }
          out.push([`client ${k} got all ${n1} messages from client 0 in order`, bad]);
        }
        const n2 = 60;
        const names = ['A', 'B', 'C'];
        for (let i = 0; i < n2; i++) for (const [k, c] of cs.entries()) c.ws.send(mk(names[k], i));
        for (const [k, c] of cs.entries()) {
          let bad = null;
          const per = { A: [], B: [], C: [] };
          try {
            for (let i = 0; i < 3 * n2; i++) {
              const m = await c.next(15000);
              const s = typeof m === 'string' ? m : new TextDecoder().decode(m);
              const [snd, seq] = s.split(':');
              if (!per[snd]) { bad = bad || `unexpected sender ${snd}`; continue; }
              bad = bad || compare(mk(snd, Number(seq)), m);
              per[snd].push(Number(seq));
            }
            if (!bad && !names.every((s) => per[s].length === n2 && per[s].every((v, j) => v === j))) {
              bad = `per-sender order broken: ${JSON.stringify(Object.fromEntries(Object.entries(per).map(([a, v]) => [a, v.slice(0, 10)])))}`;
            }
          } catch (e) { bad = String(e); }
          out.push([`client ${k} got all ${3 * n2} messages of 3 concurrent senders, per-sender order`, bad]);
        }
        const big = payload('binary-random', 1 << 20);
        cs[1].ws.send(big);
        for (const [k, c] of cs.entries()) {
          let bad;
          try { bad = compare(big, await c.next(15000)); } catch (e) { bad = String(e); }
          out.push([`client ${k} got 1 MiB binary broadcast intact`, bad]);
        }
      } catch (e) {
        out.push(['scenario', String(e)]);
      } finally {
        await Promise.all(cs.map((c) => c.close().catch(() => {})));
      }
      return out;
    },
    async waitClose(id, ms) {
      const c = conns[id];
      return withTimeout(c.closed, ms, 'close');
    },
  };
  window.T = T;
}

// ------------------------------------------------------------------------------------------
// Node side

function launch() {
  return launchChromium('switchboard-chromium-');
}

async function newPage(sb) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(`${sb.httpUrl}/healthz`, { timeout: 15000 });
  await page.evaluate(pageLib);
  return { page, ctx };
}

const ev = (page, fn, arg, ms = 20000, what = 'page.evaluate') => withTimeout(page.evaluate(fn, arg), ms, what);

async function attempt(name, fn) {
  try {
    await fn();
  } catch (e) {
    R.check(name, false, String(e && e.message ? e.message.split('\n')[0] : e));
  }
}

async function startServer(extra) {
  const sb = new Switchboard(args.switchboard, extra, { timeout: 10000 });
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

async function echoSuite(page, sb, label) {
  const url = `${sb.wsUrl}/echo`;
  await ev(page, ([u]) => T.open('m', u), [url]);
  try {
    for (const n of SIZES) {
      for (const kind of KINDS) {
        const name = `[${label}] echo ${kind} ${n} B`;
        await attempt(name, async () => {
          const bad = await ev(page, ([k, s]) => T.echo('m', k, s), [kind, n], 20000 + n / 256);
          R.check(name, bad === null, bad || '');
        });
      }
    }
    await attempt(`[${label}] unicode`, async () => {
      const res = await ev(page, ([s]) => T.unicode('m', s), [UNICODE_SAMPLES]);
      res.forEach((bad, i) => R.check(`[${label}] unicode text #${i} (${Buffer.byteLength(UNICODE_SAMPLES[i])} B UTF-8) byte-exact`, bad === null, bad || ''));
    });
    const pname = `[${label}] 1000 pipelined text/binary messages echoed in order`;
    await attempt(pname, async () => {
      const bad = await ev(page, () => T.pipelined('m', 1000), undefined, 40000);
      R.check(pname, bad === null, bad || '');
    });
    const cname = `[${label}] client close 1000: server echoes close code 1000, clean close`;
    await attempt(cname, async () => {
      const info = await ev(page, () => T.close('m', 1000, 'bye'));
      R.check(cname, info.code === 1000 && info.wasClean, JSON.stringify(info));
    });
  } catch (e) {
    R.check(`[${label}] echo suite`, false, e.message);
  }
}

async function scenarioDefault() {
  const label = 'shared';
  const sb = await startServer(['--echo']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    const { page } = p;
    R.check('page loaded from GET /healthz (same-origin secure context)',
      await ev(page, () => window.isSecureContext && location.pathname === '/healthz'), '');
    await attempt(`[${label}] Chromium's deflate offer accepted with server_no_context_takeover`, async () => {
      const r = await ev(page, ([u]) => T.open('h', u), [`${sb.wsUrl}/echo`]);
      R.check(`[${label}] ws.extensions reports permessage-deflate`, /^permessage-deflate\b/.test(r.extensions), `extensions=${JSON.stringify(r.extensions)}`);
      R.check(`[${label}] server replied server_no_context_takeover`, /server_no_context_takeover/.test(r.extensions), `extensions=${JSON.stringify(r.extensions)}`);
      await ev(page, () => T.close('h'));
    });
    await echoSuite(page, sb, label);
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    await stopServer(sb, label);
  }
}

async function scenarioDedicated() {
  const label = 'dedicated';
  const sb = await startServer(['--echo', '--compression', 'dedicated']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    await attempt(`[${label}] ws.extensions reports permessage-deflate`, async () => {
      const r = await ev(p.page, ([u]) => T.open('h', u), [`${sb.wsUrl}/echo`]);
      R.check(`[${label}] ws.extensions reports permessage-deflate`, /^permessage-deflate\b/.test(r.extensions), `extensions=${JSON.stringify(r.extensions)}`);
      await ev(p.page, () => T.close('h'));
    });
    await echoSuite(p.page, sb, label);
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    await stopServer(sb, label);
  }
}

async function scenarioOff() {
  const label = 'compression-off';
  const sb = await startServer(['--echo', '--compression', 'off']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    await attempt(`[${label}] ws.extensions is empty`, async () => {
      const r = await ev(p.page, ([u]) => T.open('h', u), [`${sb.wsUrl}/echo`]);
      R.check(`[${label}] ws.extensions is empty`, r.extensions === '', `extensions=${JSON.stringify(r.extensions)}`);
      await ev(p.page, () => T.close('h'));
    });
    await echoSuite(p.page, sb, label);
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    await stopServer(sb, label);
  }
}

async function scenarioBroadcast() {
  const label = 'broadcast';
  const sb = await startServer(['--echo']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    const res = await ev(p.page, ([u]) => T.broadcast(u), [`${sb.wsUrl}/broadcast`], 45000);
    for (const [name, bad] of res) R.check(`[${label}] ${name}`, bad === null, bad || '');
  } catch (e) {
    R.check(`[${label}] scenario`, false, e.message);
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    await stopServer(sb, label);
  }
}

async function scenarioSubprotocol() {
  const label = 'subprotocol';
  const sb = await startServer(['--echo', '--subprotocol', 'superchat']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    await attempt(`[${label}] offer ['chat','superchat'] -> ws.protocol === 'superchat'`, async () => {
      const r = await ev(p.page, ([u]) => T.open('s', u, ['chat', 'superchat']), [`${sb.wsUrl}/echo`]);
      R.check(`[${label}] offer ['chat','superchat'] -> ws.protocol === 'superchat'`, r.protocol === 'superchat', `protocol=${JSON.stringify(r.protocol)}`);
      const bad = await ev(p.page, () => T.echo('s', 'text-compressible', 100));
      R.check(`[${label}] echo works on negotiated subprotocol`, bad === null, bad || '');
      await ev(p.page, () => T.close('s'));
    });
    await attempt(`[${label}] no offer -> ws.protocol === ''`, async () => {
      const r = await ev(p.page, ([u]) => T.open('n', u), [`${sb.wsUrl}/echo`]);
      R.check(`[${label}] no offer -> ws.protocol === ''`, r.protocol === '', `protocol=${JSON.stringify(r.protocol)}`);
      await ev(p.page, () => T.close('n'));
    });
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    await stopServer(sb, label);
  }
}

async function scenarioShutdown() {
  const label = 'shutdown';
  const sb = await startServer(['--echo']);
  let ctx;
  try {
    const p = await newPage(sb);
    ctx = p.ctx;
    await ev(p.page, ([u]) => T.open('e', u), [`${sb.wsUrl}/echo`]);
    await ev(p.page, ([u]) => T.open('b', u), [`${sb.wsUrl}/broadcast`]);
    const bad = await ev(p.page, () => T.echo('e', 'text-compressible', 10));
    R.check(`[${label}] echo works before SIGTERM`, bad === null, bad || '');
    const t0 = Date.now();
    sb.signal('SIGTERM');
    for (const [id, pth] of [['e', '/echo'], ['b', '/broadcast']]) {
      const name = `[${label}] ${pth} page sees close code 1001 after SIGTERM`;
      await attempt(name, async () => {
        const info = await ev(p.page, ([i, ms]) => T.waitClose(i, ms), [id, SHUTDOWN_TIMEOUT], SHUTDOWN_TIMEOUT + 2000);
        R.check(name, info.code === 1001, `${JSON.stringify(info)} after ${(Date.now() - t0) / 1000}s`);
        R.check(`[${label}] ${pth} close after SIGTERM is clean (wasClean)`, info.wasClean === true, JSON.stringify(info));
        // RFC 6455 5.5.1 / 7.1.1: after the Close exchange the server MUST close the TCP
        // connection (SHOULD close it first). Chromium fires 'close' when the TCP connection is
        // gone, or after its own 2 s fallback timer if the server never closes it.
        const took = (Date.now() - t0) / 1000;
        R.check(`[${label}] ${pth} server closes TCP promptly after the close handshake`, took < 1.5, `close event ${took}s after SIGTERM`);
      });
    }
    await attempt(`[${label}] server exits 0 after SIGTERM`, async () => {
      const code = await sb.waitExit(SHUTDOWN_TIMEOUT);
      R.check(`[${label}] server exits 0 after SIGTERM`, code === 0, `exit ${code ?? sb.exitSignal} after ${(Date.now() - t0) / 1000}s`);
    });
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    sb.kill();
  }
}

async function closeBrowser() {
  if (!browser) return;
  const b = browser;
  browser = null;
  try {
    await withTimeout(b.close(), 10000, 'browser.close');
  } catch { /* the process is killed by playwright on exit */ }
  try { fs.rmSync(b.userDataDir, { recursive: true, force: true }); } catch { /* ignore */ }
}

async function main() {
  const t0 = Date.now();
  console.log(`# chromium ${CHROMIUM}, node ${process.version}, switchboard ${args.switchboard}`);
  R.watchdog(args.budget, closeBrowser);
  if (!binaryUsable(args.switchboard)) {
    R.check('switchboard binary exists and is executable', false, args.switchboard);
  } else {
    try {
      browser = await launch();
      console.log(`# browser ${browser.version()}`);
      for (const sc of [scenarioDefault, scenarioDedicated, scenarioOff, scenarioBroadcast, scenarioSubprotocol, scenarioShutdown]) {
        try {
          await sc();
        } catch (e) {
          R.check(`${sc.name} completed`, false, e.message.split('\n')[0]);
        }
      }
    } catch (e) {
      R.check('chromium launched', false, e.message.split('\n')[0]);
    } finally {
      await closeBrowser();
      killAll();
    }
  }
  console.log(`# took ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  R.summary();
  process.exit(R.exitCode);
}

main().catch(async (e) => {
  R.check('unexpected error', false, e.stack);
  await closeBrowser();
  killAll();
  R.summary();
  process.exit(1);
});

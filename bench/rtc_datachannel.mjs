// Data-channel set-up time and throughput on loopback, four ways:
//   native -> native   two `switchboard peer` processes (our ICE, DTLS, SCTP)
//   native -> chromium `switchboard peer` offering and sending to a Chromium page
//   chromium -> native a Chromium page offering and sending to `switchboard peer`
//   chromium -> chromium two pages of one Chromium (the anchor)
// Set-up: from creating the offer to the channel being open on the offering side. Throughput:
// `--mib` MiB (default 128) in 64 KiB binary messages, at most 4 MiB buffered, until the receiver
// has counted every byte. Medians of `--runs` (default 3).
//
//   node bench/rtc_datachannel.mjs --switchboard build/release/switchboard [--mib 128] [--runs 3]
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import fs from 'node:fs';
import { launchChromium } from '../tests/interop/lib/chromium.mjs';

const opt = { switchboard: 'build/release/switchboard', mib: 128, runs: 3 };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const BYTES = Number(opt.mib) * 1024 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function peer(role) {
  const child = spawn(opt.switchboard, ['peer', `--${role}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = readline.createInterface({ input: child.stdout });
  const seen = [];
  const waiters = new Set();
  rl.on('line', (l) => {
    let m;
    try { m = JSON.parse(l); } catch { return; }
    seen.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.delete(w); w.resolve(m); }
  });
  return {
    child, seen,
    send: (o) => child.stdin.write(JSON.stringify(o) + '\n'),
    wait: (pred, ms = 60000) => new Promise((resolve, reject) => {
      const hit = seen.find(pred);
      if (hit) return resolve(hit);
      const w = { pred, resolve };
      waiters.add(w);
      setTimeout(() => { waiters.delete(w); reject(new Error('timeout; last lines: ' + JSON.stringify(seen.slice(-4)).slice(0, 600))); }, ms);
    }),
    stop: () => child.kill('SIGKILL'),
  };
}

async function nativeToNative() {
  const a = peer('offer');
  const b = peer('answer');
  // Relay signalling both ways.
  const relay = (from, to) => from.child.stdout && readline.createInterface({ input: from.child.stdout }).on('line', (l) => {
    try {
      const m = JSON.parse(l);
      if (m.type || typeof m.candidate === 'string') to.send(m);
    } catch { /* not JSON */ }
  });
  relay(a, b);
  relay(b, a);
  const offer = await a.wait((m) => m.type === 'offer');
  const open = await a.wait((m) => m.event === 'open');
  await b.wait((m) => m.event === 'open');
  const setup = open.ms - offer.ms;
  const t0 = performance.now();
  a.send({ send_bytes: BYTES });
  for (;;) {
    b.send({ digest: true });
    const d = await b.wait((m) => m.event === 'digest' && m.ms > 0 && !m.seen && (m.seen = true));
    if (d.bytes >= BYTES) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const secs = (performance.now() - t0) / 1000;
  a.stop();
  b.stop();
  return { setup, mibps: BYTES / 1048576 / secs };
}

function pageLib() {
  window.B = {
    pc: null, ch: null, received: 0, out: [],
    make(label) {
      const pc = new RTCPeerConnection();
      window.B.pc = pc;
      pc.onicecandidate = (e) => { if (e.candidate) window.B.out.push({ candidate: e.candidate.candidate }); };
      pc.ondatachannel = (e) => window.B.recv(e.channel);
      if (label) {
        window.B.ch = pc.createDataChannel(label);
        window.B.ch.binaryType = 'arraybuffer';
      }
      return pc;
    },
    recv(ch) {
      ch.binaryType = 'arraybuffer';
      window.B.ch = ch;
      ch.onmessage = (e) => { window.B.received += e.data.byteLength ?? e.data.length; };
    },
    async offer() {
      window.B.t0 = performance.now();
      const pc = window.B.make('bench');
      await pc.setLocalDescription();
      return { type: 'offer', sdp: pc.localDescription.sdp };
    },
    async answer(desc) {
      const pc = window.B.pc ?? window.B.make(null);
      await pc.setRemoteDescription(desc);
      await pc.setLocalDescription();
      return { type: 'answer', sdp: pc.localDescription.sdp };
    },
    async remote(desc) { await window.B.pc.setRemoteDescription(desc); },
    async candidate(c) { await window.B.pc.addIceCandidate({ candidate: c, sdpMid: '0' }); },
    async opened() {
      const ch = window.B.ch;
      while (!ch || ch.readyState !== 'open') await new Promise((r) => setTimeout(r, 1));
      return performance.now() - window.B.t0;
    },
    async blast(bytes) {
      const ch = window.B.ch;
      ch.bufferedAmountLowThreshold = 1 << 20;
      const chunk = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < bytes; sent += chunk.length) {
        if (ch.bufferedAmount > (4 << 20)) await new Promise((r) => { ch.onbufferedamountlow = r; });
        ch.send(chunk);
      }
    },
  };
}

async function benchPage(browser) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto('about:blank');
  await page.evaluate(pageLib);
  return { ctx, page };
}

async function chromiumToChromium(browser) {
  const ctx = await browser.newContext();
  const a = await ctx.newPage();
  const b = await ctx.newPage();
  for (const p of [a, b]) { await p.goto('about:blank'); await p.evaluate(pageLib); }
  const offer = await a.evaluate(() => window.B.offer());
  const answer = await b.evaluate((d) => window.B.answer(d), offer);
  await a.evaluate((d) => window.B.remote(d), answer);
  const stop = { done: false };
  const pump = (async () => {
    while (!stop.done) {
      for (const [from, to] of [[a, b], [b, a]]) {
        const out = await from.evaluate(() => window.B.out.splice(0));
        for (const m of out) await to.evaluate((c) => window.B.candidate(c), m.candidate);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const setup = await a.evaluate(() => window.B.opened());
  await b.evaluate(() => window.B.opened());
  const t0 = performance.now();
  await a.evaluate((n) => window.B.blast(n), BYTES);
  await b.waitForFunction((n) => window.B.received >= n, BYTES, { timeout: 120000, polling: 20 });
  const secs = (performance.now() - t0) / 1000;
  stop.done = true;
  await pump;
  await ctx.close();
  return { setup, mibps: BYTES / 1048576 / secs };
}

async function chromiumToNative(browser) {
  const { ctx, page } = await benchPage(browser);
  const n = peer('answer');
  readline.createInterface({ input: n.child.stdout }).on('line', async (l) => {
    try {
      const m = JSON.parse(l);
      if (m.type === 'answer') await page.evaluate((d) => window.B.remote(d), { type: 'answer', sdp: m.sdp });
      else if (m.candidate) await page.evaluate((c) => window.B.candidate(c), m.candidate);
    } catch { /* ignore */ }
  });
  const offer = await page.evaluate(() => window.B.offer());
  n.send(offer);
  const stop = { done: false };
  const pump = (async () => {
    while (!stop.done) {
      for (const m of await page.evaluate(() => window.B.out.splice(0))) n.send(m);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const setup = await page.evaluate(() => window.B.opened());
  const t0 = performance.now();
  await page.evaluate((b) => window.B.blast(b), BYTES);
  for (;;) {
    n.send({ digest: true });
    const d = await n.wait((m) => m.event === 'digest' && !m.seen && (m.seen = true));
    if (d.bytes >= BYTES) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const secs = (performance.now() - t0) / 1000;
  stop.done = true;
  await pump;
  n.stop();
  await ctx.close();
  return { setup, mibps: BYTES / 1048576 / secs };
}

async function nativeToChromium(browser) {
  const { ctx, page } = await benchPage(browser);
  const n = peer('offer');
  const offer = await n.wait((m) => m.type === 'offer');
  const answer = await page.evaluate((d) => window.B.answer(d), { type: 'offer', sdp: offer.sdp });
  n.send(answer);
  const stop = { done: false };
  let next = 0;
  const pump = (async () => {
    while (!stop.done) {
      // Our trickled candidates to the page, the page's to us.
      for (; next < n.seen.length; next++) {
        const m = n.seen[next];
        if (typeof m.candidate === 'string' && m.candidate) await page.evaluate((c) => window.B.candidate(c), m.candidate);
      }
      for (const m of await page.evaluate(() => window.B.out.splice(0))) n.send(m);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const open = await n.wait((m) => m.event === 'open');
  await page.waitForFunction(() => window.B.ch && window.B.ch.readyState === 'open', null, { timeout: 60000, polling: 5 });
  const setup = open.ms - offer.ms;
  const t0 = performance.now();
  n.send({ send_bytes: BYTES });
  await page.waitForFunction((b) => window.B.received >= b, BYTES, { timeout: 120000, polling: 20 });
  const secs = (performance.now() - t0) / 1000;
  stop.done = true;
  await pump;
  n.stop();
  await ctx.close();
  return { setup, mibps: BYTES / 1048576 / secs };
}

const browser = await launchChromium('sb-bench-dc-', ['--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns']);
try {
  const results = {};
  for (const [name, fn] of [['native_to_native', nativeToNative], ['native_to_chromium', () => nativeToChromium(browser)],
    ['chromium_to_native', () => chromiumToNative(browser)],
    ['chromium_to_chromium', () => chromiumToChromium(browser)]]) {
    const runs = [];
    for (let i = 0; i < Number(opt.runs); i++) runs.push(await fn());
    results[name] = { setup_ms: Math.round(median(runs.map((r) => r.setup))), mib_per_s: Number(median(runs.map((r) => r.mibps)).toFixed(1)),
      runs: runs.map((r) => [Math.round(r.setup), Number(r.mibps.toFixed(1))]) };
    console.log(JSON.stringify({ [name]: results[name] }));
  }
} finally {
  await browser.close();
  fs.rmSync(browser.userDataDir, { recursive: true, force: true });
}

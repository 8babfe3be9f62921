// Interop test: our native WebRTC stack (`switchboard peer`: ICE, DTLS, SCTP data channels)
// against Chromium's, both roles, on loopback. Signalling is relayed by this script between the
// page and the native peer's stdin/stdout.
//   1. Chromium offers, we answer: a reliable channel echoes 200 messages in order, then carries a
//      20 MiB file in 64 KiB messages whose SHA-256 we compute and report back; an unordered
//      maxRetransmits=0 channel exchanges messages too.
//   2. We offer, Chromium answers: our channel opens on Chromium's side and echoes; a 20 MiB file
//      goes each way on it (hashed by the receiver: us, or the page with WebCrypto); an unordered
//      maxRetransmits=0 channel we open arrives with those properties and exchanges messages.
// Usage: node tests/interop/rtc_chromium_test.mjs --switchboard PATH
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { launchChromium } from './lib/chromium.mjs';
import { parseArgs, Report } from './lib/common.mjs';

const R = new Report();
const args = parseArgs();
let browser = null;
const children = [];

function nativePeer(role) {
  const child = spawn(args.switchboard, ['peer', `--${role}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const lines = readline.createInterface({ input: child.stdout });
  const listeners = new Set();
  const seen = [];
  lines.on('line', (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    seen.push(msg);
    for (const l of [...listeners]) l(msg);
  });
  return {
    child,
    seen,
    send: (obj) => child.stdin.write(JSON.stringify(obj) + '\n'),
    on: (fn) => { listeners.add(fn); for (const m of seen) fn(m); return () => listeners.delete(fn); },
    wait: (pred, ms = 15000) => new Promise((resolve, reject) => {
      const t = setTimeout(() => { off(); reject(new Error(`timed out waiting for the native peer (${ms} ms)`)); }, ms);
      const off = (() => {
        const fn = (m) => { if (pred(m)) { clearTimeout(t); off2(); resolve(m); } };
        listeners.add(fn);
        const off2 = () => listeners.delete(fn);
        for (const m of seen) if (pred(m)) { queueMicrotask(() => fn(m)); break; }
        return off2;
      })();
    }),
  };
}

// In the page: a peer connection whose signalling goes through window.out (polled by the test).
function pageLib() {
  window.T = {
    out: [],
    pc: null,
    channels: {},
    got: {},
    bin: {},
    start() {
      const pc = new RTCPeerConnection();
      window.T.pc = pc;
      pc.onicecandidate = (e) => { if (e.candidate) window.T.out.push({ candidate: e.candidate.candidate }); };
      pc.ondatachannel = (e) => window.T.track(e.channel);
      return pc;
    },
    track(ch) {
      ch.binaryType = 'arraybuffer';
      window.T.channels[ch.label] = ch;
      window.T.got[ch.label] = [];
      window.T.bin[ch.label] = [];
      ch.onmessage = (e) => {
        if (typeof e.data === 'string') window.T.got[ch.label].push(e.data);
        else window.T.bin[ch.label].push(e.data);
      };
    },
    // Bytes and SHA-256 of the binary messages received on `label` (once `size` have come).
    async received(label, size, ms = 60000) {
      const end = Date.now() + ms;
      const count = () => window.T.bin[label].reduce((n, b) => n + b.byteLength, 0);
      while (Date.now() < end && count() < size) await new Promise((r) => setTimeout(r, 20));
      const all = new Uint8Array(count());
      let at = 0;
      for (const b of window.T.bin[label]) { all.set(new Uint8Array(b), at); at += b.byteLength; }
      const md = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
      return { bytes: all.length, sha256: [...md].map((x) => x.toString(16).padStart(2, '0')).join('') };
    },
    async offer() {
      const pc = window.T.start();
      window.T.track(pc.createDataChannel('reliable'));
      window.T.track(pc.createDataChannel('lossy', { ordered: false, maxRetransmits: 0 }));
      await pc.setLocalDescription();
      window.T.out.push({ type: 'offer', sdp: pc.localDescription.sdp });
    },
    async remote(desc) {
      if (!window.T.pc) window.T.start();
      await window.T.pc.setRemoteDescription(desc);
      if (desc.type === 'offer') {
        await window.T.pc.setLocalDescription();
        window.T.out.push({ type: 'answer', sdp: window.T.pc.localDescription.sdp });
      }
    },
    async candidate(c) {
      if (c) await window.T.pc.addIceCandidate({ candidate: c, sdpMid: '0' });
    },
    async waitOpen(label, ms = 15000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const ch = window.T.channels[label];
        if (ch && ch.readyState === 'open') return true;
        await new Promise((r) => setTimeout(r, 20));
      }
      return false;
    },
    async echo(label, n) {
      const ch = window.T.channels[label];
      window.T.got[label] = [];
      for (let i = 0; i < n; i++) ch.send(`m${i}`);
      const end = Date.now() + 15000;
      while (Date.now() < end && window.T.got[label].length < n) await new Promise((r) => setTimeout(r, 20));
      return window.T.got[label];
    },
    async file(label, size) {
      const ch = window.T.channels[label];
      ch.bufferedAmountLowThreshold = 1 << 20;
      const chunk = 64 * 1024;
      // Bytes from xorshift32 (seed 1): the test recomputes them to know the SHA-256.
      const data = new Uint8Array(size);
      let x = 1;
      for (let i = 0; i < size; i++) {
        x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
        data[i] = x & 0xff;
      }
      const started = performance.now();
      for (let at = 0; at < size; at += chunk) {
        if (ch.bufferedAmount > (4 << 20)) await new Promise((r) => { ch.onbufferedamountlow = r; });
        ch.send(data.subarray(at, Math.min(size, at + chunk)));
      }
      window.T.got[label] = [];
      ch.send('digest');
      const end = Date.now() + 60000;
      while (Date.now() < end && !window.T.got[label].some((m) => m.startsWith('digest:'))) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - started;
      return { got: window.T.got[label].find((m) => m.startsWith('digest:')), ms };
    },
  };
}

function xorshiftSha256(size) {
  const data = Buffer.alloc(size);
  let x = 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    data[i] = x & 0xff;
  }
  return crypto.createHash('sha256').update(data).digest('hex');
}

async function relay(page, peer, stop) {
  // Page -> native, until stopped.
  for (;;) {
    if (stop.done) return;
    const out = await page.evaluate(() => window.T.out.splice(0)).catch(() => []);
    for (const m of out) peer.send(m);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function forwardToPage(page, peer) {
  return peer.on(async (m) => {
    if (m.type) await page.evaluate((d) => window.T.remote(d), { type: m.type, sdp: m.sdp }).catch(() => {});
    else if (typeof m.candidate === 'string') await page.evaluate((c) => window.T.candidate(c), m.candidate).catch(() => {});
  });
}

async function newPage() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.log(`# page error: ${e}`));
  // A page at http://localhost is a secure context: WebCrypto hashes what the page receives.
  await page.route('http://localhost/', (r) => r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>rtc</title>' }));
  await page.goto('http://localhost/');
  await page.evaluate(pageLib);
  return page;
}

async function chromiumOffers() {
  const page = await newPage();
  const peer = nativePeer('answer');
  const stop = { done: false };
  forwardToPage(page, peer);
  const pump = relay(page, peer, stop);
  await page.evaluate(() => window.T.offer());
  const open = await page.evaluate(() => window.T.waitOpen('reliable'));
  R.check('Chromium offers, we answer: the data channel opens', open,
    JSON.stringify(peer.seen.filter((m) => m.event).slice(-5)));
  if (open) {
    const got = await page.evaluate(() => window.T.echo('reliable', 200));
    R.check('200 messages come back in order on the reliable channel',
      got.length === 200 && got.every((m, i) => m === `m${i}`), `${got.length} back`);
    const size = 20 * 1024 * 1024;
    const f = await page.evaluate((n) => window.T.file('reliable', n), size);
    f.expected = `digest:${size}:${xorshiftSha256(size)}`;
    R.check('a 20 MiB file arrives whole: our SHA-256 matches Chromium\'s', f.got === f.expected, `${f.got} vs ${f.expected}`);
    console.log(`# 20 MiB Chromium -> native: ${(f.ms / 1000).toFixed(2)} s (${(20 / (f.ms / 1000)).toFixed(1)} MiB/s)`);
    const lossyOpen = await page.evaluate(() => window.T.waitOpen('lossy'));
    const lossy = lossyOpen ? await page.evaluate(() => window.T.echo('lossy', 50)) : [];
    R.check('an unordered maxRetransmits=0 channel exchanges messages', lossy.length >= 45, `${lossy.length}/50 back`);
  }
  stop.done = true;
  await pump;
  peer.child.stdin.end();
  await page.context().close();
}

async function nativeOffers() {
  const page = await newPage();
  const peer = nativePeer('offer');
  const stop = { done: false };
  forwardToPage(page, peer);
  const pump = relay(page, peer, stop);
  const open = await page.evaluate(() => window.T.waitOpen('native'));
  R.check('we offer, Chromium answers: our data channel opens in Chromium', open,
    JSON.stringify(peer.seen.filter((m) => m.event).slice(-5)));
  if (open) {
    const got = await page.evaluate(() => window.T.echo('native', 50));
    R.check('messages on our channel come back from us', got.length === 50 && got.every((m, i) => m === `m${i}`), `${got.length} back`);
    const size = 20 * 1024 * 1024;
    const f = await page.evaluate((n) => window.T.file('native', n), size);
    const expected = `digest:${size}:${xorshiftSha256(size)}`;
    R.check('Chromium answering: a 20 MiB file from the page arrives whole (our SHA-256 matches)', f.got === expected, `${f.got} vs ${expected}`);
    peer.send({ send_bytes: size, hash: true });
    const sent = await peer.wait((m) => m.event === 'sent', 60000);
    const r = await page.evaluate((n) => window.T.received('native', n), size);
    R.check('Chromium answering: a 20 MiB file from us arrives whole (the page\'s SHA-256 matches ours)',
      r.bytes === size && r.sha256 === sent.sha256, `${r.bytes} bytes, ${r.sha256} vs ${sent.sha256}`);
    peer.send({ open: 'lossy', ordered: false, max_retransmits: 0 });
    const lossyOpen = await page.evaluate(() => window.T.waitOpen('lossy'));
    const props = lossyOpen ? await page.evaluate(() => ({ ordered: window.T.channels.lossy.ordered, maxRetransmits: window.T.channels.lossy.maxRetransmits })) : {};
    R.check('our unordered maxRetransmits=0 channel opens in Chromium with those properties',
      props.ordered === false && props.maxRetransmits === 0, JSON.stringify(props));
    const lossy = lossyOpen ? await page.evaluate(() => window.T.echo('lossy', 50)) : [];
    R.check('messages on it come back from us', lossy.length >= 45, `${lossy.length}/50 back`);
  }
  stop.done = true;
  await pump;
  peer.child.stdin.end();
  await page.context().close();
}

try {
  R.watchdog(170);
  browser = await launchChromium('sb-rtc-', [
    '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ]);
  await chromiumOffers();
  await nativeOffers();
} catch (e) {
  R.check('test ran to the end', false, String(e?.stack ?? e));
} finally {
  for (const c of children) c.kill('SIGKILL');
  await browser?.close().catch(() => {});
  if (browser?.userDataDir) fs.rmSync(browser.userDataDir, { recursive: true, force: true });
  R.summary();
  process.exit(R.exitCode);
}

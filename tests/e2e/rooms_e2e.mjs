// Calls in real Chromium (playwright-core, Debian chromium, fake camera and microphone): the web
// app's call page and the browser SDK's Room against the server's signalling and TURN.
//   1. two participants, then four: every one decodes video and audio from every other
//      (getStats framesDecoded and audio packetsReceived rising), chat works beside the call;
//   2. a fifth participant is refused with the documented reason (117, mesh limit 4);
//   3. a 20 MiB file from one browser to another with progress and a verified SHA-256;
//   4. ICE restart: UDP is dropped until the connection is lost, then restored; the SDK restarts
//      ICE and media flows again over new ICE credentials;
//   5. relay-only (iceTransportPolicy 'relay'): the selected candidate pairs are relay/relay
//      through this server's TURN;
//   6. join-to-first-frame on loopback, printed (docs/benchmarks.md records it).
// It re-runs itself in a private network namespace (unshare --net, as root) so it may drop UDP
// with nftables without touching the machine. Usage: node tests/e2e/rooms_e2e.mjs --switchboard PATH
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launchChromium } from '../interop/lib/chromium.mjs';
import { Switchboard, killAll } from '../interop/lib/switchboard_proc.mjs';
import { parseArgs, Report, runInPrivateNetns, sleep } from '../interop/lib/common.mjs';

runInPrivateNetns();

const R = new Report();
const args = parseArgs();
const SECRET = 'rooms-e2e';
const artifacts = process.env.SB_ARTIFACTS || path.join(process.cwd(), 'build', 'e2e-artifacts');
let browser = null;
let server = null;
const pages = [];

class Fatal extends Error {}

function mintToken(user, name) {
  return execFileSync(args.switchboard, ['token', '--secret', SECRET, '--user', user, '--info', JSON.stringify({ name }),
    '--ttl', '3600'], { encoding: 'utf8' }).trim();
}

async function open(user, name, room, query = '') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  const p = { user, name, ctx, page, errors: [], console: [] };
  page.on('pageerror', (e) => p.errors.push(String(e?.stack ?? e)));
  page.on('console', (m) => { p.console.push(`${m.type()}: ${m.text()}`); if (p.console.length > 200) p.console.shift(); });
  const token = mintToken(user, name);
  await page.goto(`${server.httpUrl}/?token=${encodeURIComponent(token)}${query}#room=${room}`);
  await page.waitForFunction(() => window.switchboard?.client?.state === 'connected', null, { timeout: 15000 });
  pages.push(p);
  return p;
}

async function joinCall(p) {
  await p.page.click('[data-testid="call-button"]');
  await p.page.waitForFunction(() => window.switchboard.call.room?.state === 'joined', null, { timeout: 15000 });
}

async function close(p) {
  if (p.shared) await p.page.close().catch(() => {});
  else await p.ctx.close().catch(() => {});
  pages.splice(pages.indexOf(p), 1);
}

// In the page: per remote participant, what its peer connection decodes and receives.
function mediaStats() {
  const room = window.switchboard.call.room;
  return Promise.all([...room.participants.values()].map(async (p) => {
    const pc = room.peerConnection(p.sid);
    const out = { sid: p.sid, name: p.name, state: pc?.connectionState, framesDecoded: 0, audioPackets: 0, local: null, remote: null };
    if (!pc) return out;
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.framesDecoded += s.framesDecoded ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioPackets += s.packetsReceived ?? 0;
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
    });
    if (pair) {
      out.local = stats.get(pair.localCandidateId)?.candidateType ?? null;
      out.remote = stats.get(pair.remoteCandidateId)?.candidateType ?? null;
    }
    out.ufrag = /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '')?.[1] ?? null;
    return out;
  }));
}

// Waits until `p` decodes video and receives audio from `others` remote participants, rising
// between two samples. Returns the last samples.
async function waitMedia(p, others, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let before = null;
  let last = null;
  while (Date.now() < deadline) {
    const now = await p.page.evaluate(mediaStats);
    last = now;
    if (before && now.length === others) {
      const rising = now.every((s) => {
        const b = before.find((x) => x.sid === s.sid);
        return b && s.framesDecoded > b.framesDecoded && s.audioPackets > b.audioPackets && b.framesDecoded > 0;
      });
      if (rising) return { ok: true, stats: now };
    }
    before = now;
    await sleep(1000);
  }
  return { ok: false, stats: last };
}

async function everyoneDecodes(group, label) {
  const results = await Promise.all(group.map((p) => waitMedia(p, group.length - 1)));
  for (let i = 0; i < group.length; i++) {
    const r = results[i];
    R.check(`${label}: ${group[i].name} decodes video and audio from all ${group.length - 1} others`, r.ok,
      JSON.stringify(r.stats?.map((s) => [s.name, s.state, s.framesDecoded, s.audioPackets])));
  }
  return results.every((r) => r.ok);
}

async function chatWorks(from, to, text) {
  await from.page.fill('[data-testid="composer-input"]', text);
  await from.page.click('[data-testid="composer-send"]');
  try {
    await to.page.waitForFunction((t) => [...document.querySelectorAll('[data-testid="message-text"]')].some((e) => e.textContent === t),
      text, { timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

async function testMesh() {
  const a = await open('ann', 'Ann', 'standup');
  const b = await open('ben', 'Ben', 'standup');
  await joinCall(a);
  await joinCall(b);
  await everyoneDecodes([a, b], 'two participants');
  R.check('two participants: chat beside the call reaches the other', await chatWorks(a, b, 'can you hear me?'));
  const tiles = await a.page.locator('[data-testid="call-tile"]').count();
  R.check('the call page shows a tile for each participant', tiles === 2, `tiles=${tiles}`);

  // Data messages to all, over the peer-to-peer data channel.
  const heard = b.page.evaluate(() => new Promise((resolve) => {
    window.switchboard.call.room.on('data', ({ from, data }) => resolve({ from: from.name, data }));
    setTimeout(() => resolve(null), 10000);
  }));
  const sentTo = await a.page.evaluate(() => window.switchboard.call.room.send({ hello: 'everyone' }));
  const got = await heard;
  R.check('a data message reaches the other participant', sentTo === 1 && got?.from === 'Ann' && got?.data?.hello === 'everyone',
    JSON.stringify({ sentTo, got }));

  // Muting the microphone shows on the other side.
  await a.page.click('[data-testid="call-mic"]');
  let muted = false;
  try {
    await b.page.waitForFunction(() => {
      const el = [...document.querySelectorAll('[data-testid="call-tile"]')].find((t) => t.dataset.key !== 'local');
      return el && !el.querySelector('.tile-mic').hidden;
    }, null, { timeout: 10000 });
    muted = true;
  } catch { /* checked below */ }
  R.check('muting the microphone shows as muted to the other participant', muted);
  await a.page.click('[data-testid="call-mic"]');

  // Screen sharing: a second video the others receive as a screen.
  await a.page.click('[data-testid="call-screen"]');
  let shared = false;
  try {
    await b.page.waitForSelector('.tile--screen video', { timeout: 15000 });
    await b.page.waitForFunction(() => {
      const v = document.querySelector('.tile--screen video');
      return v && v.videoWidth > 0;
    }, null, { timeout: 15000 });
    shared = true;
  } catch { /* checked below */ }
  R.check('a shared screen reaches the other participant as a screen tile', shared);
  await a.page.click('[data-testid="call-screen"]');
  let unshared = false;
  try {
    await b.page.waitForFunction(() => !document.querySelector('.tile--screen'), null, { timeout: 15000 });
    unshared = true;
  } catch { /* checked below */ }
  R.check('stopping the share removes the screen tile', unshared);

  const c = await open('cy', 'Cy', 'standup');
  const d = await open('di', 'Di', 'standup');
  await joinCall(c);
  await joinCall(d);
  const all = [a, b, c, d];
  await everyoneDecodes(all, 'four participants');
  R.check('four participants: chat works beside the call', await chatWorks(d, a, 'four of us now'));
  fs.mkdirSync(artifacts, { recursive: true });
  await a.page.screenshot({ path: path.join(artifacts, 'rooms-four-participants.png') });

  // A fifth is refused, with the reason shown.
  const e = await open('eve', 'Eve', 'standup');
  await e.page.click('[data-testid="call-button"]');
  let shown = '';
  try {
    await e.page.waitForSelector('[data-testid="call-error"]', { timeout: 10000 });
    shown = await e.page.textContent('[data-testid="call-error"]');
  } catch { /* checked below */ }
  R.check('a fifth participant is refused with the documented reason', /room full: .*at most 4 participants/.test(shown), shown);
  const code = await e.page.evaluate(async () => {
    try {
      await window.switchboard.client._call('room_join', { room: 'standup' });
      return 0;
    } catch (err) {
      return err.code;
    }
  });
  R.check('the refusal is error 117', code === 117, `code=${code}`);
  await close(e);
  return all;
}

async function testFile(a, b) {
  const bSid = await b.page.evaluate(() => window.switchboard.call.room.localParticipant.sid);
  const sent = a.page.evaluate(async (to) => {
    const size = 20 * 1024 * 1024;
    const parts = [];
    for (let at = 0; at < size; at += 65536) {
      const chunk = new Uint8Array(65536);
      crypto.getRandomValues(chunk);
      parts.push(chunk);
    }
    const blob = new Blob(parts);
    const [t] = window.switchboard.call.sendFiles([new File([blob], 'twenty.bin')]).filter((x) => x.peer === to);
    let progress = 0;
    t.on('progress', () => progress++);
    const started = performance.now();
    await t.done;
    return { sha256: t.sha256, progress, ms: performance.now() - started, state: t.state };
  }, bSid);
  const got = b.page.evaluate(() => new Promise((resolve) => {
    const room = window.switchboard.call.room;
    room.on('fileIncoming', (t) => {
      let progress = 0;
      t.on('progress', () => progress++);
      t.done.then(async () => {
        const digest = await crypto.subtle.digest('SHA-256', await t.blob.arrayBuffer());
        const hex = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
        resolve({ sha256: t.sha256, recomputed: hex, size: t.blob.size, progress, name: t.name });
      }, (e) => resolve({ error: String(e) }));
    });
  }));
  const [s, r] = await Promise.all([sent, got]);
  R.check('a 20 MiB file arrives whole with a verified SHA-256',
    !r.error && r.size === 20 * 1024 * 1024 && r.recomputed === s.sha256 && r.sha256 === s.sha256 && s.state === 'done',
    JSON.stringify({ s, r }));
  R.check('both sides saw progress', s.progress > 50 && r.progress > 50, `sender ${s.progress}, receiver ${r.progress}`);
  const shown = await b.page.locator('[data-testid="transfer"][data-state="done"]').count();
  R.check('the receiver\'s transfer list shows it verified', shown >= 1, `done items=${shown}`);
  console.log(`# 20 MiB file over the data channel: ${(s.ms / 1000).toFixed(2)} s (${(20 / (s.ms / 1000)).toFixed(1)} MiB/s)`);
}

function nft(...cmd) {
  execFileSync('nft', cmd, { stdio: 'inherit' });
}

async function testIceRestart(a, b) {
  const before = await a.page.evaluate(mediaStats);
  const ufragBefore = before.map((s) => s.ufrag);
  nft('add', 'table', 'inet', 'sbdrop');
  nft('add', 'chain', 'inet', 'sbdrop', 'out', '{ type filter hook output priority 0; }');
  nft('add', 'rule', 'inet', 'sbdrop', 'out', 'meta', 'l4proto', 'udp', 'drop');
  let lost = false;
  try {
    await a.page.waitForFunction(() => [...window.switchboard.call.room.participants.values()]
      .some((p) => ['disconnected', 'failed'].includes(p.connectionState)), null, { timeout: 30000, polling: 200 });
    lost = true;
  } catch { /* checked below */ }
  R.check('dropping UDP loses the peer connections', lost);
  // Still cut off when the SDK gives up waiting (2.5 s disconnected) and restarts ICE.
  await sleep(4000);
  nft('delete', 'table', 'inet', 'sbdrop');
  let restored = false;
  try {
    await a.page.waitForFunction(() => [...window.switchboard.call.room.participants.values()]
      .every((p) => p.connectionState === 'connected'), null, { timeout: 40000, polling: 200 });
    restored = true;
  } catch { /* checked below */ }
  const after = await waitMedia(a, before.length, 20000);
  const ufragAfter = after.stats?.map((s) => s.ufrag) ?? [];
  R.check('after an ICE restart connectivity is restored and media flows again', restored && after.ok,
    JSON.stringify(after.stats?.map((s) => [s.name, s.state, s.framesDecoded])));
  R.check('the restart negotiated new ICE credentials', ufragAfter.length > 0 && ufragAfter.every((u, i) => u && u !== ufragBefore[i]),
    `${ufragBefore} -> ${ufragAfter}`);
  void b;
}

// Two windows of one browser profile, as a person tries it: a guest name typed once (the second
// window finds it in storage), no token.
async function openGuestWindows(name, room, query) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const out = [];
  for (let i = 0; i < 2; i++) {
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);
    const p = { user: `${name}-${i}`, name: `${name} ${i + 1}`, ctx, page, errors: [], console: [], shared: i > 0 };
    page.on('pageerror', (e) => p.errors.push(String(e?.stack ?? e)));
    page.on('console', (m) => { p.console.push(`${m.type()}: ${m.text()}`); if (p.console.length > 200) p.console.shift(); });
    await page.goto(`${server.httpUrl}/?${query}#room=${room}`);
    if (i === 0) {
      await page.fill('[data-testid="name-input"]', name);
      await page.click('[data-testid="name-submit"]');
    }
    await page.waitForFunction(() => window.switchboard?.client?.state === 'connected', null, { timeout: 15000 });
    pages.push(p);
    out.push(p);
  }
  return out;
}

async function testRelay() {
  const [x, y] = await openGuestWindows('Xia', 'relayed', 'relay=1');
  await joinCall(x);
  await joinCall(y);
  const media = await waitMedia(x, 1);
  const s = media.stats?.[0] ?? {};
  R.check('relay-only: media flows through our TURN', media.ok, JSON.stringify(media.stats));
  R.check('relay-only: the selected candidate pair is relay on both ends', s.local === 'relay' && s.remote === 'relay',
    `${s.local}/${s.remote}`);
  R.check('two windows of one browser, one guest name, are two participants of the call',
    (await x.page.evaluate(() => window.switchboard.call.room.participants.size)) === 1);
  await close(y);
  await close(x);
}

async function measureJoin(runs) {
  const host = await open('host', 'Host', 'timing');
  const guest = await open('guest', 'Guest', 'timing');
  await joinCall(host);
  const times = [];
  for (let i = 0; i < runs; i++) {
    await guest.page.click('[data-testid="call-button"]');
    try {
      await guest.page.waitForFunction(() => window.switchboard.call.metrics.firstFrameMs !== null, null, { timeout: 15000, polling: 20 });
      times.push(await guest.page.evaluate(() => window.switchboard.call.metrics.firstFrameMs));
    } catch { /* counted */ }
    await guest.page.click('[data-testid="call-button"]'); // leave
    await guest.page.waitForFunction(() => !window.switchboard.call.room, null, { timeout: 10000 });
    await host.page.waitForFunction(() => window.switchboard.call.room.participants.size === 0, null, { timeout: 10000 });
  }
  times.sort((p, q) => p - q);
  const median = times.length ? times[Math.floor(times.length / 2)] : NaN;
  R.check(`join-to-first-frame measured in ${runs} joins`, times.length === runs, `${times.length} measured`);
  console.log(`# join-to-first-frame (P2P, loopback, ${times.length} joins): median ${median.toFixed(0)} ms, ` +
    `min ${times[0]?.toFixed(0)} ms, max ${times[times.length - 1]?.toFixed(0)} ms`);
  await close(host);
  await close(guest);
}

async function main() {
  R.watchdog(300, async () => { for (const p of pages) console.log(`# ${p.name} console:\n${p.console.slice(-30).join('\n')}`); });
  server = new Switchboard(args.switchboard, ['--loops', '2', '--token-secret', SECRET]);
  await server.start();
  browser = await launchChromium('sb-rooms-', [
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required',
  ]);
  const four = await testMesh();
  const [a, b, c, d] = four;
  await close(c);
  await close(d);
  await testFile(a, b);
  await testIceRestart(a, b);
  await close(a);
  await close(b);
  await testRelay();
  await measureJoin(Number(process.env.SB_JOIN_RUNS || 7));
  for (const p of pages) R.check(`${p.name}: no page errors`, p.errors.length === 0, p.errors.join('\n'));
}

try {
  await main();
} catch (e) {
  R.check('test ran to the end', false, e instanceof Fatal ? e.message : String(e?.stack ?? e));
  for (const p of pages) console.log(`# ${p.name} console:\n${p.console.slice(-20).join('\n')}`);
} finally {
  await browser?.close().catch(() => {});
  if (browser?.userDataDir) fs.rmSync(browser.userDataDir, { recursive: true, force: true });
  await server?.stop?.().catch?.(() => {});
  killAll();
  R.summary();
  process.exit(R.exitCode);
}

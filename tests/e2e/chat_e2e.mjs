// End-to-end test of the chat app served at "/": two users chat in Chromium; the server is
// killed with SIGKILL mid-conversation (while messages are in flight) and restarted on the same
// port with the same data directory; afterwards every message is shown exactly once and in order
// on both sides, and equals the server's own history.
//
// Usage (from the repo root):
//   node tests/e2e/chat_e2e.mjs --switchboard build/dev/switchboard
//       [--budget SECONDS] [--log-level debug] [--artifacts DIR]
//
// Artifacts (screenshots, and on failure the pages' message lists) go to --artifacts, else
// $SB_ARTIFACTS, else build/e2e-artifacts relative to the current directory.
// Prints one line per check (PASS/FAIL) and `N passed, N failed`; exit status 0 only if every
// check passed. Bounded by a watchdog (--budget, default 90 s; with the failure report and
// cleanup the process ends within budget + 20 s).
//
// What the app promises, and so what is asserted (clients/js/README.md):
// - a message is "sending" until its own publication arrives, then "confirmed" at its offset;
// - a publish that cannot be sent (no connection) or whose connection dropped shows "failed"
//   with Retry (same cid); if it was committed after all, its publication arrives on recovery
//   and replaces it;
// - after a reconnect the room recovers exactly (durable history survives kill -9), so nothing
//   confirmed is lost and nothing shows twice.
// The test types like a user: the Enter key for alice, the send button for bob; after the
// restart it waits until the room has recovered, then clicks Retry on each failed message.
// To be sure some messages are in flight at the kill, the server is first frozen with SIGSTOP
// and a few messages are sent to it (they show "Sending…"); then it gets SIGKILL.
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { CHROMIUM, launchChromium } from '../interop/lib/chromium.mjs';
import { Switchboard, killAll } from '../interop/lib/switchboard_proc.mjs';

const ROOM = 'e2e';
const CHANNEL = `chat:${ROOM}`;
const PHASE1_EACH = 10; // alternating, each confirmed before the next
const BURST_EACH = 8;   // sent without waiting for confirmations (see step 4)
const FREEZE_AT = 4;    // SIGSTOP after this many burst messages each
const KILL_AT = 6;      // SIGKILL after this many (those after FREEZE_AT are certainly in flight)
const OUTAGE_EACH = 2;  // typed while both banners say the connection is gone
const PHASE3_EACH = 4;  // alternating after the restart

// ------------------------------------------------------------------------------------------
// command line

function parseArgs(argv = process.argv.slice(2)) {
  const out = { switchboard: null, budget: 90, logLevel: 'info', artifacts: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) { console.error(`${a} needs a value`); process.exit(2); }
      return argv[++i];
    };
    if (a === '--switchboard') out.switchboard = val();
    else if (a === '--budget') out.budget = Number(val());
    else if (a === '--log-level') out.logLevel = val();
    else if (a === '--artifacts') out.artifacts = val();
    else if (a === '-h' || a === '--help') {
      console.log('usage: node tests/e2e/chat_e2e.mjs --switchboard PATH [--budget SECONDS] [--log-level LEVEL] [--artifacts DIR]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!out.switchboard) { console.error('--switchboard PATH is required'); process.exit(2); }
  out.switchboard = path.resolve(out.switchboard);
  out.artifacts = path.resolve(out.artifacts || process.env.SB_ARTIFACTS || path.join('build', 'e2e-artifacts'));
  return out;
}

const args = parseArgs();
const T0 = Date.now();
const elapsed = () => `${((Date.now() - T0) / 1000).toFixed(1)}s`;
const log = (...a) => console.log(`# [${elapsed()}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------
// checks

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  ok = !!ok;
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
  return ok;
}
class Fatal extends Error {}
// A check the rest of the scenario depends on: stop at the first failure.
function must(name, ok, detail = '') {
  if (!check(name, ok, detail)) {
    const e = new Fatal(`${name}${detail ? ` -- ${detail}` : ''}`);
    e.recorded = true; // already reported as a FAIL line
    throw e;
  }
}
const short = (v, n = 600) => { const s = JSON.stringify(v); return s.length > n ? `${s.slice(0, n)}…` : s; };

// ------------------------------------------------------------------------------------------
// server

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-e2e-data-'));
const secret = crypto.randomBytes(24).toString('hex');
const apiKey = crypto.randomBytes(16).toString('hex');
let port = 0;
let server = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

// Starts the server on `port` with the test's data directory and secrets. The port was free a
// moment ago (first start) or was ours (restart): a failed start is retried for a few seconds.
async function startServer() {
  const deadline = Date.now() + 10000;
  for (let attempt = 1; ; attempt++) {
    const sb = new Switchboard(args.switchboard, [
      '--listen', `127.0.0.1:${port}`, '--data', dataDir, '--token-secret', secret, '--api-key', apiKey,
      '--log-level', args.logLevel,
    ], { timeout: 10000 });
    try {
      await sb.start();
      if (sb.port !== port) throw new Error(`server reports port ${sb.port}, asked for ${port}`);
      if (attempt > 1) log(`server started on attempt ${attempt}`);
      return sb;
    } catch (e) {
      sb.kill();
      if (Date.now() > deadline) throw e;
      log(`server start failed (${e.message}); retrying`);
      await sleep(300);
    }
  }
}

function mintToken(user, name) {
  return execFileSync(args.switchboard, ['token', '--secret', secret, '--user', user, '--ttl', '900',
    '--info', JSON.stringify({ name })], { encoding: 'utf8', timeout: 5000 }).trim();
}

async function serverHistory() {
  const r = await fetch(`http://127.0.0.1:${port}/api/history`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel: CHANNEL, limit: 1000 }),
    signal: AbortSignal.timeout(5000),
  });
  const j = await r.json();
  if (!j.result) throw new Error(`POST /api/history: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j.result.publications.map((p) => ({
    offset: p.offset,
    cid: typeof p.data?.cid === 'string' ? p.data.cid : null,
    text: p.data?.text ?? null,
    user: p.from?.user ?? null,
  }));
}

// ------------------------------------------------------------------------------------------
// browser

let browser = null;
let userDataDir = null;
const users = [];

async function launch() {
  // Both users' pages must keep their timers running (reconnect backoff, banner).
  const b = await launchChromium('sb-e2e-chromium-', [
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ]);
  userDataDir = b.userDataDir;
  return b;
}

// Runs in each page before the app: records every status a message element was rendered with
// (by cid), the banner's states and the room notices, for assertions and for failure reports.
function instrument() {
  const rec = { statuses: {}, banner: [], notices: [] };
  window.__e2e = rec;
  const seen = (el) => {
    if (el.nodeType !== 1) return;
    const els = el.matches?.('[data-testid="message"]') ? [el] : [...(el.querySelectorAll?.('[data-testid="message"]') ?? [])];
    for (const m of els) {
      const cid = m.dataset.cid || `offset:${m.dataset.offset}`;
      const a = (rec.statuses[cid] ||= []);
      if (a[a.length - 1] !== m.dataset.status) a.push(m.dataset.status);
    }
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      if (m.type === 'childList') {
        for (const n of m.addedNodes) seen(n);
        const t = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        if (t?.id === 'room-notice' && !t.hidden && t.textContent) rec.notices.push([Date.now(), t.textContent]);
      } else if (m.type === 'attributes') {
        const t = m.target;
        if (t.id === 'connection-banner' && m.attributeName === 'data-state') {
          const last = rec.banner[rec.banner.length - 1];
          if (!last || last[1] !== t.dataset.state) rec.banner.push([Date.now(), t.dataset.state]);
        }
        if (t.id === 'room-notice' && m.attributeName === 'hidden' && !t.hidden && t.textContent) rec.notices.push([Date.now(), t.textContent]);
      }
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state', 'hidden'] });
}

// In the page: the message list as rendered, top to bottom.
function pageMessages() {
  return [...document.querySelectorAll('[data-testid="message"]')].map((el) => ({
    offset: el.dataset.offset !== undefined ? Number(el.dataset.offset) : null,
    cid: el.dataset.cid ?? null,
    status: el.dataset.status,
    text: el.querySelector('[data-testid="message-text"]')?.textContent ?? null,
  }));
}

async function openUser(id, name, how) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 780 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10000);
  const u = { id, name, how, ctx, page, console: [], errors: [], sent: [] };
  page.on('console', (m) => { u.console.push(`${m.type()}: ${m.text()}`); if (u.console.length > 300) u.console.shift(); });
  page.on('pageerror', (e) => u.errors.push(String(e && e.stack ? e.stack : e)));
  await page.addInitScript(instrument);
  const token = mintToken(id, name);
  await page.goto(`http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}#room=${ROOM}`, { timeout: 15000 });
  users.push(u);
  return u;
}

const messages = (u) => u.page.evaluate(pageMessages);
const bannerState = (u) => u.page.evaluate(() => document.querySelector('[data-testid="connection-banner"]')?.dataset.state ?? null);

async function waitBanner(u, pred, what, timeout) {
  const states = pred === 'connected' ? ['connected'] : ['connecting', 'disconnected'];
  try {
    await u.page.waitForFunction((s) => s.includes(document.querySelector('[data-testid="connection-banner"]')?.dataset.state),
      states, { timeout, polling: 50 });
  } catch (e) {
    throw new Fatal(`${u.id}: banner did not become ${what} within ${timeout} ms (now ${await bannerState(u).catch(() => '?')})`);
  }
}

async function waitConfirmedText(u, text, timeout = 10000) {
  try {
    await u.page.waitForFunction((t) => [...document.querySelectorAll('[data-testid="message"][data-status="confirmed"]')]
      .some((el) => el.querySelector('[data-testid="message-text"]')?.textContent === t), text, { timeout, polling: 25 });
  } catch {
    throw new Fatal(`${u.id}: "${text}" not confirmed within ${timeout} ms`);
  }
}

// Types `text` into the composer and sends it (Enter or the send button), like a user.
async function send(u, text) {
  const input = u.page.getByTestId('composer-input');
  await input.fill(text, { timeout: 5000 });
  if (u.how === 'enter') await input.press('Enter', { timeout: 5000 });
  else await u.page.getByTestId('composer-send').click({ timeout: 5000 });
  u.sent.push(text);
}

// Polls an async predicate (on the Node side) until it returns a truthy value.
async function waitUntil(what, fn, timeout, interval = 100) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try { last = await fn(); } catch (e) { last = undefined; if (Date.now() > deadline) throw new Fatal(`${what}: ${e.message}`); }
    if (last) return last;
    if (Date.now() > deadline) throw new Fatal(`${what}: not within ${timeout} ms`);
    await sleep(interval);
  }
}

// No two elements with the same offset or cid; confirmed ones first, by strictly increasing offset.
function listProblems(list) {
  const probs = [];
  const offs = new Set();
  const cids = new Set();
  let lastOff = 0;
  let pendingSeen = false;
  for (const m of list) {
    if (m.cid !== null) { if (cids.has(m.cid)) probs.push(`duplicate cid ${m.cid} (${m.text})`); cids.add(m.cid); }
    if (m.status === 'confirmed') {
      if (m.offset === null || !Number.isInteger(m.offset)) { probs.push(`confirmed without offset: ${m.text}`); continue; }
      if (offs.has(m.offset)) probs.push(`duplicate offset ${m.offset}`);
      offs.add(m.offset);
      if (m.offset <= lastOff) probs.push(`offset ${m.offset} after ${lastOff}`);
      lastOff = m.offset;
      if (pendingSeen) probs.push(`confirmed ${m.offset} below a pending message`);
    } else {
      pendingSeen = true;
      if (m.offset !== null) probs.push(`${m.status} message with offset ${m.offset}`);
    }
  }
  return probs;
}

const key = (m) => `${m.offset}|${m.cid}|${m.text}`;
const sameList = (a, b) => a.length === b.length && a.every((m, i) => key(m) === key(b[i]));
function firstDiff(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (!a[i] || !b[i] || key(a[i]) !== key(b[i])) return `at ${i}: ${short(a[i] ?? null, 200)} vs ${short(b[i] ?? null, 200)} (lengths ${a.length}, ${b.length})`;
  }
  return 'equal';
}
const confirmedOf = (list) => list.filter((m) => m.status === 'confirmed').map(({ offset, cid, text }) => ({ offset, cid, text }));

// ------------------------------------------------------------------------------------------
// artifacts, failure reports and cleanup

function artifact(name) {
  fs.mkdirSync(args.artifacts, { recursive: true });
  return path.join(args.artifacts, name);
}

async function screenshots(suffix) {
  const paths = [];
  for (const u of users) {
    const p = artifact(`chat_e2e-${u.id}${suffix}.png`);
    try {
      await u.page.screenshot({ path: p, fullPage: false, timeout: 5000 });
      paths.push(p);
    } catch (e) {
      console.log(`# screenshot of ${u.id} failed: ${e.message.split('\n')[0]}`);
    }
  }
  return paths;
}

let dumped = false;
async function failureDump(reason) {
  if (dumped) return;
  dumped = true;
  console.log(`# FAILURE: ${reason}`);
  for (const p of await screenshots('-failure')) console.log(`# failure screenshot: ${p}`);
  const report = { reason, elapsed: elapsed(), port, dataDir, pages: {} };
  for (const u of users) {
    const r = { sent: u.sent, errors: u.errors, console: u.console.slice(-60) };
    try { r.banner = await bannerState(u); } catch (e) { r.banner = `? ${e.message}`; }
    try { r.messages = await messages(u); } catch (e) { r.messages = `? ${e.message}`; }
    try { r.record = await u.page.evaluate(() => window.__e2e); } catch (e) { r.record = `? ${e.message}`; }
    report.pages[u.id] = r;
    console.log(`# ${u.id}: banner=${r.banner} url=${u.page.url()}`);
    if (Array.isArray(r.messages)) {
      console.log(`# ${u.id} message list (${r.messages.length}):`);
      for (const m of r.messages) console.log(`#   ${String(m.offset ?? '-').padStart(4)} ${m.status.padEnd(9)} ${m.cid ?? '-'} ${JSON.stringify(m.text)}`);
    }
    if (u.errors.length) console.log(`# ${u.id} page errors: ${short(u.errors, 2000)}`);
  }
  if (server?.running) {
    try { report.serverHistory = await serverHistory(); } catch (e) { report.serverHistory = `? ${e.message}`; }
  }
  const p = artifact('chat_e2e-failure.json');
  try { fs.writeFileSync(p, JSON.stringify(report, null, 2)); console.log(`# failure report: ${p}`); } catch { /* best effort */ }
  console.log(`# server data directory kept for inspection: ${dataDir}`);
}

let cleaned = false;
async function cleanup(ok) {
  if (cleaned) return;
  cleaned = true;
  if (server) server.kill();
  killAll();
  if (browser) {
    const b = browser;
    browser = null;
    try { await Promise.race([b.close(), sleep(8000)]); } catch { /* playwright kills it on exit */ }
  }
  try { if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* ignore */ }
  if (ok) { try { fs.rmSync(dataDir, { recursive: true, force: true }); } catch { /* ignore */ } }
}

function finish() {
  console.log(`# took ${elapsed()}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

const watchdog = setTimeout(async () => {
  check('watchdog: test finished within budget', false, `${args.budget}s exceeded`);
  try { await Promise.race([failureDump(`watchdog: ${args.budget}s exceeded`), sleep(10000)]); } catch { /* best effort */ }
  await Promise.race([cleanup(false), sleep(10000)]);
  finish();
}, args.budget * 1000);
watchdog.unref();
// Whatever way the process ends: no browser profile left behind (the server is killed by
// switchboard_proc.mjs's own exit hook, the browser by playwright's).
process.on('exit', () => {
  try { if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true }); } catch { /* best effort */ }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => { await Promise.race([cleanup(false), sleep(5000)]); process.exit(130); });
}

// ------------------------------------------------------------------------------------------
// the scenario

async function scenario() {
  port = await freePort();
  server = await startServer();
  log(`server ${args.switchboard} on port ${port}, data ${dataDir}`);
  browser = await launch();
  log(`browser ${browser.version()}`);

  // 1-2. Two users meet in a fresh room.
  const alice = await openUser('alice', 'Alice', 'enter');
  const bob = await openUser('bob', 'Bob', 'button');
  for (const u of [alice, bob]) await waitBanner(u, 'connected', 'connected', 15000);
  check('both pages connected (banner data-state=connected)', true);
  check('token removed from the address bar', [alice, bob].every((u) => !u.page.url().includes('token=')), `${alice.page.url()}`);
  const presenceNames = (u) => u.page.evaluate(() => [...document.querySelectorAll('[data-testid="presence-item"] .person-name')].map((e) => e.textContent).sort());
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id} presence shows Alice and Bob`, async () => short(await presenceNames(u)) === short(['Alice', 'Bob']), 10000);
    check(`${u.id}: presence shows exactly Alice and Bob`, true);
  }
  for (const u of [alice, bob]) {
    const rooms = await u.page.evaluate(() => [...document.querySelectorAll('[data-testid="room-item"]')].map((e) => e.dataset.room));
    check(`${u.id}: room ${ROOM} in the sidebar`, rooms.includes(ROOM), short(rooms));
    const list = await messages(u);
    must(`${u.id}: room starts empty`, list.length === 0, short(list));
  }

  // 3. Alternate messages, each confirmed before the next: a known global order.
  const phase1 = [];
  for (let i = 1; i <= PHASE1_EACH; i++) {
    for (const u of [alice, bob]) {
      const text = `${u.name} says hello #${String(i).padStart(2, '0')}${i === 3 ? ' — héllo 🎉 <b>not bold</b>' : ''}`;
      await send(u, text);
      await waitConfirmedText(u, text);
      phase1.push(text);
    }
  }
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id} shows all ${phase1.length} phase-1 messages confirmed`,
      async () => confirmedOf(await messages(u)).length === phase1.length, 10000);
  }
  const beforeKill = {};
  for (const u of [alice, bob]) {
    const list = await messages(u);
    beforeKill[u.id] = confirmedOf(list);
    check(`${u.id}: phase 1 — ${phase1.length} messages confirmed, in the order sent`,
      short(list.map((m) => [m.status, m.text])) === short(phase1.map((t) => ['confirmed', t])), short(list.map((m) => m.text)));
    const probs = listProblems(list);
    check(`${u.id}: phase 1 list has no duplicate offset/cid, offsets increasing`, probs.length === 0, probs.join('; '));
  }
  check('phase 1: both pages show the same confirmed list', sameList(beforeKill.alice, beforeKill.bob), firstDiff(beforeKill.alice, beforeKill.bob));
  log('phase 1 done');

  // 4. A burst from both sides, typed without waiting for confirmations, in three parts:
  //    a) messages 1..FREEZE_AT from both users at once; then the server is frozen (SIGSTOP)
  //       wherever it is, so whatever it has not read or answered yet stays in flight;
  //    b) messages up to KILL_AT, written to the frozen server: certainly in flight, and shown
  //       "Sending…"; then SIGKILL;
  //    c) the rest, typed while the pages are finding out that the connection is gone.
  const burst = { alice: [], bob: [] };
  const burstText = (u, i) => `${u.name} burst ${i}/${BURST_EACH}`;
  const burstRange = (from, to) => Promise.all([alice, bob].map(async (u) => {
    for (let i = from; i <= to; i++) {
      const text = burstText(u, i);
      await send(u, text);
      burst[u.id].push(text);
    }
  }));
  await burstRange(1, FREEZE_AT);
  server.signal('SIGSTOP');
  log(`server frozen (SIGSTOP) after ${FREEZE_AT} burst messages each`);
  await burstRange(FREEZE_AT + 1, KILL_AT);
  const inFlight = {};
  for (const u of [alice, bob]) {
    const list = await messages(u);
    const frozenTexts = burst[u.id].slice(FREEZE_AT);
    inFlight[u.id] = list.filter((m) => m.status === 'sending').map((m) => m.text);
    const st = frozenTexts.map((t) => list.find((m) => m.text === t)?.status ?? 'absent');
    check(`${u.id}: messages sent to the frozen server show "Sending…" (in flight)`, st.every((x) => x === 'sending'), short(st));
  }
  server.signal('SIGKILL');
  log(`server killed with SIGKILL; in flight: ${short(inFlight)}`);
  await burstRange(KILL_AT + 1, BURST_EACH);
  const exit = await server.waitExit(5000).catch(() => 'still running');
  must('server died of SIGKILL', server.exitSignal === 'SIGKILL', `exit ${exit} signal ${server.exitSignal}`);
  for (const u of [alice, bob]) await waitBanner(u, 'down', 'connecting/disconnected', 10000);
  check('both banners left "connected" after the kill', true);

  // Messages typed while the connection is known to be down.
  const outage = { alice: [], bob: [] };
  for (let i = 1; i <= OUTAGE_EACH; i++) {
    for (const u of [alice, bob]) {
      const text = `${u.name} typed offline ${i}`;
      await send(u, text);
      outage[u.id].push(text);
    }
  }
  // Every message not confirmed is visibly failed (none stuck "sending": the SDK fails a publish
  // at once when not connected, and on the connection's close when it was in flight).
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id}: no message left "sending" during the outage`,
      async () => (await messages(u)).every((m) => m.status !== 'sending'), 12000);
    const list = await messages(u);
    const stuck = list.filter((m) => m.status !== 'confirmed' && m.status !== 'failed');
    check(`${u.id}: during the outage every message is confirmed or failed`, stuck.length === 0, short(stuck));
    const offline = await u.page.evaluate((texts) => texts.map((t) => {
      const el = [...document.querySelectorAll('[data-testid="message"]')].find((e) => e.querySelector('[data-testid="message-text"]')?.textContent === t);
      return el ? { status: el.dataset.status, note: el.querySelector('.msg-status')?.textContent ?? '', retry: !!el.querySelector('button[data-action="retry"]') } : null;
    }), outage[u.id]);
    check(`${u.id}: messages typed offline show "Not sent — no connection." with Retry`,
      offline.every((o) => o && o.status === 'failed' && /no connection/.test(o.note) && o.retry), short(offline));
    const mine = list.filter((m) => m.status === 'failed').map((m) => m.text);
    check(`${u.id}: only its own messages are pending`, mine.every((t) => u.sent.includes(t)), short(mine));
    const confirmedNow = confirmedOf(list);
    const lost = beforeKill[u.id].filter((m) => !confirmedNow.some((c) => key(c) === key(m)));
    check(`${u.id}: confirmed messages stay on screen during the outage`, lost.length === 0, short(lost));
    const probs = listProblems(list);
    check(`${u.id}: outage list has no duplicate offset/cid, offsets increasing`, probs.length === 0, probs.join('; '));
  }
  // What each page had confirmed while the server was down: all acknowledged before the kill.
  const confirmedAtKill = {};
  for (const u of [alice, bob]) confirmedAtKill[u.id] = confirmedOf(await messages(u));
  log(`confirmed during outage: alice ${confirmedAtKill.alice.length}, bob ${confirmedAtKill.bob.length}`);

  // Restart on the same port, same data, same secret.
  const tDown = Date.now();
  server = await startServer();
  log('server restarted');
  for (const u of [alice, bob]) await waitBanner(u, 'connected', 'connected again', 30000);
  log(`both pages reconnected ${((Date.now() - tDown) / 1000).toFixed(1)}s after the restart`);
  check('both pages reconnected to the restarted server', true);

  // The room recovers: wait until each page shows every publication the server has (those
  // committed before the kill, including ones whose ack was lost). Then nothing pending is in
  // the server's history, and nothing confirmed before the kill is gone.
  const hist1 = await serverHistory();
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id}: recovered every publication in the server's history`, async () => {
      const c = confirmedOf(await messages(u));
      return hist1.every((h) => c.some((m) => m.offset === h.offset && m.cid === h.cid));
    }, 15000);
    const list = await messages(u);
    const conf = confirmedOf(list);
    check(`${u.id}: after recovery the confirmed list equals the server's history`, sameList(conf, hist1), firstDiff(conf, hist1));
    const lost = confirmedAtKill[u.id].filter((m) => !conf.some((c) => key(c) === key(m)));
    check(`${u.id}: every message confirmed before the kill is still there after the restart`, lost.length === 0, short(lost));
    const pending = list.filter((m) => m.status !== 'confirmed');
    check(`${u.id}: pending messages are all failed (Retry offered)`, pending.every((m) => m.status === 'failed'), short(pending));
    const committedButFailed = pending.filter((m) => hist1.some((h) => h.cid === m.cid));
    check(`${u.id}: no message committed on the server is still shown as failed`, committedButFailed.length === 0, short(committedButFailed));
    const probs = listProblems(list);
    check(`${u.id}: recovered list has no duplicate offset/cid, offsets increasing`, probs.length === 0, probs.join('; '));
  }
  const committedBurst = hist1.slice(phase1.length).map((h) => h.text);
  log(`burst messages committed before the kill: ${committedBurst.length} (${short(committedBurst, 300)})`);

  // Retry each failed message, as a user would, alternating between the two users; each is
  // confirmed before the next so the order is known.
  const retried = [];
  const failedCids = async (u) => (await messages(u)).filter((m) => m.status === 'failed');
  const queues = { alice: await failedCids(alice), bob: await failedCids(bob) };
  while (queues.alice.length || queues.bob.length) {
    for (const u of [alice, bob]) {
      const m = queues[u.id].shift();
      if (!m) continue;
      await u.page.locator(`[data-testid="message"][data-cid="${m.cid}"] button[data-action="retry"]`).click({ timeout: 5000 });
      try {
        await u.page.locator(`[data-testid="message"][data-cid="${m.cid}"][data-status="confirmed"]`).waitFor({ timeout: 10000 });
      } catch {
        throw new Fatal(`${u.id}: retried "${m.text}" not confirmed within 10 s`);
      }
      retried.push(m.text);
    }
  }
  log(`retried ${retried.length} failed messages`);

  // Presence is rebuilt after the restart.
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id} presence shows Alice and Bob after the restart`, async () => short(await presenceNames(u)) === short(['Alice', 'Bob']), 10000);
    check(`${u.id}: presence shows exactly Alice and Bob after the restart`, true);
  }

  // 5. More conversation after recovery.
  const phase3 = [];
  for (let i = 1; i <= PHASE3_EACH; i++) {
    for (const u of [bob, alice]) {
      const text = `${u.name} after restart #${i}`;
      await send(u, text);
      await waitConfirmedText(u, text);
      phase3.push(text);
    }
  }
  log('phase 3 done');

  // 6. Final assertions on both pages and against the server.
  const allSent = [...alice.sent, ...bob.sent];
  const hist = await serverHistory();
  for (const u of [alice, bob]) {
    await waitUntil(`${u.id}: shows all ${hist.length} publications confirmed`, async () => {
      const l = await messages(u);
      return l.length === hist.length && l.every((m) => m.status === 'confirmed');
    }, 10000);
  }
  const final = {};
  for (const u of [alice, bob]) {
    const list = await messages(u);
    final[u.id] = confirmedOf(list);
    check(`${u.id}: every message is confirmed (none sending or failed)`, list.every((m) => m.status === 'confirmed'), short(list.filter((m) => m.status !== 'confirmed')));
    const probs = listProblems(list);
    check(`${u.id}: no two messages share an offset or a cid; offsets strictly increasing`, probs.length === 0, probs.join('; '));
    check(`${u.id}: confirmed list equals the server's history (offset, cid, text)`, sameList(final[u.id], hist), firstDiff(final[u.id], hist));
  }
  check('alice and bob show the identical confirmed list', sameList(final.alice, final.bob), firstDiff(final.alice, final.bob));
  const offs = hist.map((h) => h.offset);
  check('server history: offsets 1..N without gaps', offs.every((o, i) => o === i + 1), short(offs));
  const cidsH = hist.map((h) => h.cid);
  check('server history: every publication has a distinct cid (no double commit)', cidsH.every((c) => c) && new Set(cidsH).size === cidsH.length, short(cidsH));
  const texts = hist.map((h) => h.text);
  const counts = new Map();
  for (const t of texts) counts.set(t, (counts.get(t) || 0) + 1);
  const missing = allSent.filter((t) => !counts.has(t));
  const twice = [...counts].filter(([, n]) => n > 1).map(([t]) => t);
  const unknown = texts.filter((t) => !allSent.includes(t));
  check(`every one of the ${allSent.length} texts sent appears exactly once`,
    missing.length === 0 && twice.length === 0 && unknown.length === 0 && texts.length === allSent.length,
    `missing ${short(missing)}, twice ${short(twice)}, unknown ${short(unknown)}`);
  const wrongAuthor = hist.filter((h) => !(h.user === 'alice' ? alice.sent : h.user === 'bob' ? bob.sent : []).includes(h.text));
  check('server history: each message is from the user who typed it', wrongAuthor.length === 0, short(wrongAuthor));
  // Order: phase 1 as sent; then the burst messages committed before the kill (each user's a
  // prefix of what that user sent, in order); then the retried ones in retry order; then phase 3.
  const n1 = phase1.length;
  const n3 = phase3.length;
  check('order: phase-1 messages first, exactly in the order sent', short(texts.slice(0, n1)) === short(phase1), short(texts.slice(0, n1), 300));
  check('order: phase-3 messages last, exactly in the order sent', short(texts.slice(texts.length - n3)) === short(phase3), short(texts.slice(texts.length - n3), 300));
  const middle = texts.slice(n1, texts.length - n3);
  const committed = middle.slice(0, middle.length - retried.length);
  check('order: retried messages follow the recovered ones, in retry order',
    short(middle.slice(middle.length - retried.length)) === short(retried) && short(committed) === short(committedBurst),
    `middle ${short(middle, 400)}, retried ${short(retried, 400)}`);
  for (const u of [alice, bob]) {
    const mineCommitted = committed.filter((t) => u.sent.includes(t));
    const prefix = burst[u.id].slice(0, mineCommitted.length);
    check(`order: ${u.id}'s messages committed around the kill are a prefix of its burst, in order`,
      short(mineCommitted) === short(prefix), `committed ${short(mineCommitted)} sent ${short(burst[u.id])}`);
    const mineRetried = retried.filter((t) => u.sent.includes(t));
    const expectRetried = [...burst[u.id], ...outage[u.id]].filter((t) => !mineCommitted.includes(t));
    check(`order: ${u.id}'s retried messages are the rest, in the order typed`, short(mineRetried) === short(expectRetried), short(mineRetried));
  }
  const records = {};
  for (const u of [alice, bob]) records[u.id] = await u.page.evaluate(() => window.__e2e);
  for (const u of [alice, bob]) {
    const notices = records[u.id].notices;
    check(`${u.id}: the room recovered exactly after the restart (no "reloaded" notice)`, notices.length === 0, short(notices));
    check(`${u.id}: no uncaught errors in the page`, u.errors.length === 0, short(u.errors));
  }
  // Informational: messages that showed "Not sent" and were then recovered as committed.
  for (const u of [alice, bob]) {
    const st = records[u.id].statuses;
    const recoveredAfterFail = hist.filter((h) => u.sent.includes(h.text) && !retried.includes(h.text) && (st[h.cid] || []).includes('failed'));
    log(`${u.id}: banner states ${short(records[u.id].banner.map(([, s]) => s))}; shown failed then recovered as committed: ${short(recoveredAfterFail.map((h) => h.text))}`);
  }

  // Reload one page: the durable history renders the same list.
  await bob.page.reload({ timeout: 15000 });
  await waitBanner(bob, 'connected', 'connected after reload', 15000);
  await waitUntil('bob after reload shows the whole history', async () => (await messages(bob)).length >= hist.length, 10000);
  const reloaded = await messages(bob);
  check('bob after reload: the history renders the same list', sameList(reloaded.map(({ offset, cid, text }) => ({ offset, cid, text })), hist)
    && reloaded.every((m) => m.status === 'confirmed'), firstDiff(confirmedOf(reloaded), hist));
  const probsR = listProblems(reloaded);
  check('bob after reload: no duplicate offset/cid, offsets increasing', probsR.length === 0, probsR.join('; '));
  check('alice unchanged: still the same list', sameList(confirmedOf(await messages(alice)), hist), '');

  // 7. Screenshots.
  await alice.page.evaluate(() => { const s = document.getElementById('messages'); if (s) s.scrollTop = s.scrollHeight; });
  await bob.page.evaluate(() => { const s = document.getElementById('messages'); if (s) s.scrollTop = s.scrollHeight; });
  for (const p of await screenshots('')) console.log(`# screenshot: ${p}`);
  log(`${hist.length} messages: ${phase1.length} before the kill, ${committedBurst.length} committed around it, ${retried.length} retried, ${phase3.length} after`);
}

async function main() {
  console.log(`# chat e2e: chromium ${CHROMIUM}, node ${process.version}, switchboard ${args.switchboard}, artifacts ${args.artifacts}`);
  let ok = false;
  try {
    await scenario();
    ok = failed === 0;
  } catch (e) {
    if (e instanceof Fatal) { if (!e.recorded) check('scenario step', false, e.message); } else check('scenario ran without an unexpected error', false, e && e.stack ? e.stack : String(e));
    ok = false;
  }
  if (!ok) {
    try { await Promise.race([failureDump(failed ? 'a check failed' : 'error'), sleep(15000)]); } catch (e) { console.log(`# failure dump failed: ${e.message}`); }
  }
  await cleanup(ok);
  finish();
}

main().catch(async (e) => {
  check('unexpected error', false, e && e.stack ? e.stack : String(e));
  await Promise.race([cleanup(false), sleep(5000)]);
  finish();
});

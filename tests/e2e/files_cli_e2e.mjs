// `switchboard send` / `switchboard receive` (the native client SDK) against real peers:
//   1. two terminals: a 30 MiB file moves with its SHA-256 checked, receive writes it whole,
//      and both exit 0; a second file of the same name does not overwrite the first;
//   2. terminal -> browser: the web app in a call (fake camera and microphone, so the browser
//      renegotiates with audio and video that the native peer turns down) receives a 12 MiB file
//      from `switchboard send` with a verified hash shown in its transfer list;
//   3. browser -> terminal: the app sends 8 MiB to `switchboard receive`, which exits 0 with the
//      same hash on disk;
//   4. the peer goes away: the browser leaves mid-transfer (receive exits 1, says why, leaves no
//      partial file); the receiving terminal is killed mid-transfer (send exits 1, says why);
//   5. through the relay: send and receive with --relay move the file through this server's TURN
//      (its relayed-bytes counter grows by at least the file's size);
//   6. over wss:// to a server with a certificate: verified against --ca-file, refused (exit 1,
//      "certificate not trusted") without it;
//   7. clear errors: no server (exit 1 with the reason), a missing file, a refused join, and no
//      path to the receiver at all (UDP dropped with nftables): send gives up with the reason
//      once ICE has (about 30 s).
// It re-runs itself in a private network namespace so the peers have loopback only.
// Usage: node tests/e2e/files_cli_e2e.mjs --switchboard PATH [--no-browser]
// (--no-browser: the terminal parts only, for builds without the web app such as the sanitizer's)
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium } from '../interop/lib/chromium.mjs';
import { Switchboard, killAll } from '../interop/lib/switchboard_proc.mjs';
import { parseArgs, Report, runInPrivateNetns, sleep } from '../interop/lib/common.mjs';

runInPrivateNetns();

const R = new Report();
const noBrowser = process.argv.includes('--no-browser');
const args = parseArgs(process.argv.slice(2).filter((a) => a !== '--no-browser'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-files-'));
const procs = new Set();
let browser = null;
let server = null;

function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function makeFile(name, bytes) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, crypto.randomBytes(bytes));
  return file;
}

// Runs `switchboard <argv>`; `done` resolves to { code, stdout, stderr }.
function cli(argv) {
  const proc = spawn(args.switchboard, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.add(proc);
  const run = { proc, stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => { run.stdout += d; });
  proc.stderr.on('data', (d) => { run.stderr += d; });
  run.done = new Promise((resolve) => proc.on('exit', (code, signal) => {
    procs.delete(proc);
    resolve({ code, signal, stdout: run.stdout, stderr: run.stderr });
  }));
  return run;
}

const common = () => ['--server', server.wsUrl, '--timeout', '60'];

async function twoTerminals() {
  const file = makeFile('thirty.bin', 30 * 1024 * 1024);
  const out = fs.mkdtempSync(path.join(tmp, 'out-'));
  const recv = cli(['receive', '--room', 'terminals', '--out', out, ...common()]);
  await sleep(300);
  const started = Date.now();
  const send = cli(['send', file, '--room', 'terminals', ...common()]);
  const [s, r] = await Promise.all([send.done, recv.done]);
  const ms = Date.now() - started;
  const want = sha256(file);
  const got = path.join(out, 'thirty.bin');
  R.check('two terminals: send exits 0', s.code === 0, s.stderr);
  R.check('two terminals: receive exits 0', r.code === 0, r.stderr);
  R.check('two terminals: the file on disk has the sender\'s SHA-256', fs.existsSync(got) && sha256(got) === want);
  R.check('both print the verified hash', s.stdout.includes(want) && r.stdout.includes(want), `${s.stdout} / ${r.stdout}`);
  R.check('receive shows progress', /100%/.test(r.stderr) && /Receiving thirty\.bin/.test(r.stderr), r.stderr);
  R.check('no partial file is left', !fs.readdirSync(out).some((f) => f.endsWith('.part')));
  console.log(`# 30 MiB terminal to terminal, from starting send to both exiting: ${ms} ms`);
  // The same name again goes beside it, not over it.
  const recv2 = cli(['receive', '--room', 'terminals2', '--out', out, ...common()]);
  await sleep(300);
  const send2 = cli(['send', file, '--room', 'terminals2', ...common()]);
  const [s2, r2] = await Promise.all([send2.done, recv2.done]);
  // Several files at once, an empty one among them: all arrive, receive exits once all are done.
  const many = [makeFile('one.bin', 1024 * 1024), makeFile('empty.bin', 0), makeFile('five.bin', 5 * 1024 * 1024)];
  const out3 = fs.mkdtempSync(path.join(tmp, 'many-'));
  const recv3 = cli(['receive', '--room', 'many', '--out', out3, ...common()]);
  await sleep(300);
  const [s3, r3] = await Promise.all([cli(['send', ...many, '--room', 'many', ...common()]).done, recv3.done]);
  R.check('three files in one send (one empty): both exit 0 and every file on disk has its hash',
    s3.code === 0 && r3.code === 0 && many.every((f) => fs.existsSync(path.join(out3, path.basename(f))) &&
      sha256(path.join(out3, path.basename(f))) === sha256(f)) && (r3.stdout.match(/^received /gm) ?? []).length === 3,
    `${s3.stderr}\n${r3.stderr}\n${fs.readdirSync(out3).join(', ')}`);
  R.check('a second file of the same name is written beside the first',
    s2.code === 0 && r2.code === 0 && fs.existsSync(path.join(out, 'thirty (1).bin')) && sha256(path.join(out, 'thirty (1).bin')) === want,
    `${fs.readdirSync(out).join(', ')}\nsend ${s2.code}: ${s2.stderr.slice(-400)}\nreceive ${r2.code}: ${r2.stderr.slice(-400)}`);
}

async function openApp(room, name) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e?.stack ?? e)));
  await page.goto(`${server.httpUrl}/#room=${room}`);
  await page.fill('[data-testid="name-input"]', name);
  await page.click('[data-testid="name-submit"]');
  await page.waitForFunction(() => window.switchboard?.client?.state === 'connected', null, { timeout: 15000 });
  await page.click('[data-testid="call-button"]');
  await page.waitForFunction(() => window.switchboard.call.room?.state === 'joined', null, { timeout: 15000 });
  return { ctx, page, errors };
}

// In the page: the sid of the first remote participant whose peer connection is connected.
async function connectedPeer(page) {
  // One look, returning the sid itself: a second look could find the state changed.
  const found = await page.waitForFunction(() => {
    const room = window.switchboard.call.room;
    const p = [...room.participants.values()].find((q) => room.peerConnection(q.sid)?.connectionState === 'connected');
    return p ? p.sid : false;
  }, null, { timeout: 20000 });
  return found.jsonValue();
}

// Sends `size` random bytes from the page to `to`; resolves to what the page saw.
function browserSends(page, to, size, name) {
  return page.evaluate(async ({ to, size, name }) => {
    const parts = [];
    for (let at = 0; at < size; at += 65536) {
      const chunk = new Uint8Array(Math.min(65536, size - at));
      crypto.getRandomValues(chunk);
      parts.push(chunk);
    }
    const [t] = window.switchboard.call.sendFiles([new File(parts, name)]).filter((x) => x.peer === to);
    try {
      await t.done;
    } catch (e) {
      return { state: t.state, error: String(e) };
    }
    return { state: t.state, sha256: t.sha256 };
  }, { to, size, name });
}

async function terminalAndBrowser() {
  const app = await openApp('filesroom', 'Ann');
  // Terminal -> browser.
  const file = makeFile('twelve.bin', 12 * 1024 * 1024);
  const incoming = app.page.evaluate(() => new Promise((resolve) => {
    window.switchboard.call.room.on('fileIncoming', (t) => {
      t.done.then(async () => {
        const digest = await crypto.subtle.digest('SHA-256', await t.blob.arrayBuffer());
        const hex = [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, '0')).join('');
        resolve({ name: t.name, size: t.blob.size, sha256: t.sha256, recomputed: hex });
      }, (e) => resolve({ error: String(e) }));
    });
  }));
  const send = cli(['send', file, '--room', 'filesroom', ...common()]);
  const [s, got] = await Promise.all([send.done, incoming]);
  const want = sha256(file);
  R.check('terminal -> browser: send exits 0', s.code === 0, s.stderr);
  R.check('terminal -> browser: the browser has the file with the same SHA-256',
    !got.error && got.name === 'twelve.bin' && got.size === 12 * 1024 * 1024 && got.recomputed === want && got.sha256 === want,
    JSON.stringify(got));
  await app.page.waitForSelector('[data-testid="transfer"][data-state="done"]', { timeout: 5000 }).catch(() => {});
  R.check('the app lists the transfer as verified', await app.page.locator('[data-testid="transfer"][data-state="done"]').count() >= 1);
  const camera = await app.page.evaluate(() => window.switchboard.call.room.localTracks?.size ?? -1);
  R.check('the browser had camera and microphone published (it renegotiated with media)', camera >= 1, `local tracks ${camera}`);

  // Browser -> terminal.
  const out = fs.mkdtempSync(path.join(tmp, 'from-browser-'));
  const recv = cli(['receive', '--room', 'filesroom', '--out', out, ...common()]);
  const to = await connectedPeer(app.page);
  // The browser renegotiates to add its camera and microphone; the native peer turns them down.
  const turnedDown = await app.page.waitForFunction((sid) => {
    const sdp = window.switchboard.call.room.peerConnection(sid)?.currentRemoteDescription?.sdp ?? '';
    return /m=audio 0 /.test(sdp) && /m=video 0 /.test(sdp) && /m=application [1-9]/.test(sdp);
  }, to, { timeout: 10000 }).then(() => true, () => false);
  R.check('the native peer answered the browser\'s audio and video turned down (port 0), data kept', turnedDown);
  const [sent, r] = await Promise.all([browserSends(app.page, to, 8 * 1024 * 1024, 'eight.bin'), recv.done]);
  const written = path.join(out, 'eight.bin');
  R.check('browser -> terminal: the browser sees it verified', sent.state === 'done', JSON.stringify(sent));
  R.check('browser -> terminal: receive exits 0', r.code === 0, r.stderr);
  R.check('browser -> terminal: the file on disk has the browser\'s SHA-256',
    fs.existsSync(written) && sha256(written) === sent.sha256 && r.stdout.includes(sent.sha256), r.stdout);

  // The browser goes away mid-transfer.
  const out2 = fs.mkdtempSync(path.join(tmp, 'gone-'));
  const recv2 = cli(['receive', '--room', 'filesroom', '--out', out2, ...common()]);
  const to2 = await connectedPeer(app.page);
  void browserSends(app.page, to2, 400 * 1024 * 1024, 'huge.bin').catch(() => {});
  for (let i = 0; i < 100 && !/Receiving huge\.bin/.test(recv2.stderr); i++) await sleep(100);
  await sleep(300);
  await app.ctx.close();
  const r2 = await recv2.done;
  R.check('the sender leaving mid-transfer: receive exits 1 and says the sender left',
    r2.code === 1 && /left the room/.test(r2.stderr), r2.stderr.slice(-400));
  R.check('... and leaves no partial file', fs.readdirSync(out2).length === 0, fs.readdirSync(out2).join(', '));
  R.check('the app had no page errors', app.errors.length === 0, app.errors.join('\n'));
}

async function receiverKilled() {
  const file = makeFile('big.bin', 300 * 1024 * 1024);
  const out = fs.mkdtempSync(path.join(tmp, 'killed-'));
  const recv = cli(['receive', '--room', 'killed', '--out', out, ...common()]);
  await sleep(300);
  const send = cli(['send', file, '--room', 'killed', ...common()]);
  for (let i = 0; i < 100 && !/Receiving big\.bin/.test(recv.stderr); i++) await sleep(100);
  recv.proc.kill('SIGKILL');
  const s = await send.done;
  R.check('the receiver killed mid-transfer: send exits 1 and says the receiver left',
    s.code === 1 && /left the room|failed/.test(s.stderr), s.stderr.slice(-400));
  fs.rmSync(file);
}

async function overTls() {
  const certs = path.join(tmp, 'certs');
  execFileSync('bash', [path.join(path.dirname(__filename()), '..', '..', 'scripts', 'make-cert.sh'), certs], { stdio: 'ignore' });
  const cert = path.join(certs, 'cert.pem');
  const tlsServer = new Switchboard(args.switchboard, ['--loops', '1', '--tls-cert', cert, '--tls-key', path.join(certs, 'key.pem')]);
  await tlsServer.start();
  try {
    const file = makeFile('secret.bin', 2 * 1024 * 1024);
    const out = fs.mkdtempSync(path.join(tmp, 'tls-'));
    const tlsArgs = ['--server', tlsServer.wsUrl, '--ca-file', cert, '--timeout', '30', '--quiet'];
    const recv = cli(['receive', '--room', 'tls', '--out', out, ...tlsArgs]);
    await sleep(300);
    const [s, r] = await Promise.all([cli(['send', file, '--room', 'tls', ...tlsArgs]).done, recv.done]);
    R.check(`over ${tlsServer.wsUrl.split(':')[0]}:// with --ca-file: the file arrives verified`,
      tlsServer.wsUrl.startsWith('wss://') && s.code === 0 && r.code === 0 && sha256(path.join(out, 'secret.bin')) === sha256(file),
      `${s.stderr} ${r.stderr}`);
    const untrusted = await cli(['send', file, '--room', 'tls', '--server', tlsServer.wsUrl, '--timeout', '10']).done;
    R.check('wss:// to a certificate nobody vouches for: exit 1, not trusted', untrusted.code === 1 &&
      /certificate not trusted/.test(untrusted.stderr), untrusted.stderr);
  } finally {
    await tlsServer.stop();
  }
}

async function relayedBytes() {
  const text = (await server.get('/metrics')).body.toString();
  let sum = 0;
  for (const m of text.matchAll(/^switchboard_turn_relayed_bytes_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

async function throughTheRelay() {
  const file = makeFile('relayed.bin', 6 * 1024 * 1024);
  const out = fs.mkdtempSync(path.join(tmp, 'relay-'));
  const before = await relayedBytes();
  const recv = cli(['receive', '--room', 'relayed', '--relay', '--out', out, ...common()]);
  await sleep(300);
  const send = cli(['send', file, '--room', 'relayed', '--relay', ...common()]);
  const [s, r] = await Promise.all([send.done, recv.done]);
  const relayed = (await relayedBytes()) - before;
  R.check('--relay: both exit 0 with the file verified', s.code === 0 && r.code === 0 &&
    sha256(path.join(out, 'relayed.bin')) === sha256(file), `${s.stderr}\n${r.stderr}`);
  R.check('--relay: the bytes went through this server\'s TURN relay', relayed >= 6 * 1024 * 1024, `relayed ${relayed} bytes`);
}

async function clearErrors() {
  const noServer = await cli(['send', __filename(), '--room', 'x', '--server', 'ws://127.0.0.1:9', '--timeout', '5']).done;
  R.check('no server: exit 1 with the reason', noServer.code === 1 && /cannot connect/.test(noServer.stderr), noServer.stderr);
  const missing = await cli(['send', path.join(tmp, 'nope.bin'), '--room', 'x', ...common()]).done;
  R.check('a missing file: exit 1 with the reason', missing.code === 1 && /No such file/.test(missing.stderr), missing.stderr);
  const badRoom = await cli(['receive', '--room', 'no spaces allowed', ...common()]).done;
  R.check('a refused join: exit 1 with the server\'s reason', badRoom.code === 1 && /refused \(107\)/.test(badRoom.stderr), badRoom.stderr);
  const usage = await cli(['send', '--room', 'x']).done;
  R.check('usage errors exit 2', usage.code === 2 && /which file/.test(usage.stderr), usage.stderr);
}

async function unreachable() {
  const file = makeFile('small.bin', 1024);
  execFileSync('nft', ['-f', '-'], {
    input: 'table inet block {\n chain out {\n  type filter hook output priority 0;\n  meta l4proto udp drop\n }\n}\n',
  });
  try {
    const recv = cli(['receive', '--room', 'walled', '--out', tmp, '--quiet', '--server', server.wsUrl, '--timeout', '50']);
    await sleep(300);
    const started = Date.now();
    const s = await cli(['send', file, '--room', 'walled', '--server', server.wsUrl, '--timeout', '50']).done;
    R.check('no path to the receiver: send exits 1 saying so once ICE gives up',
      s.code === 1 && /no receiver in the room can be reached/.test(s.stderr) && /ICE failed/.test(s.stderr),
      `${Date.now() - started} ms: ${s.stderr.slice(-300)}`);
    recv.proc.kill('SIGTERM');
    await recv.done;
  } finally {
    execFileSync('nft', ['delete', 'table', 'inet', 'block']);
  }
}

function __filename() {
  return new URL(import.meta.url).pathname;
}

async function main() {
  R.watchdog(280);
  // No --turn-allow-peer: with --relay on both ends each relays to the other's relayed address,
  // one of the server's own, which the default policy lets through while that relay is live.
  server = new Switchboard(args.switchboard, ['--loops', '2']);
  await server.start();
  await twoTerminals();
  await throughTheRelay();
  await overTls();
  await receiverKilled();
  await clearErrors();
  await unreachable();
  if (noBrowser) return;
  browser = await launchChromium('sb-files-', [
    '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ]);
  await terminalAndBrowser();
}

try {
  await main();
} catch (e) {
  R.check('test ran to the end', false, String(e?.stack ?? e));
} finally {
  for (const p of procs) p.kill('SIGKILL');
  await browser?.close().catch(() => {});
  if (browser?.userDataDir) fs.rmSync(browser.userDataDir, { recursive: true, force: true });
  await server?.stop?.().catch?.(() => {});
  killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
  R.summary();
  process.exit(R.exitCode);
}

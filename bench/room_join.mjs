// Join-to-first-frame of a call in the web app, peer to peer on loopback: `--present N` pages
// are in the call (camera and microphone from Chromium's fake devices); one more page joins and
// leaves `--runs` times. Each join is timed by the app itself (window.switchboard.call.metrics):
// from the click on "Join call" (getUserMedia included) to the first remote video frame shown.
//
//   node bench/room_join.mjs --switchboard build/release/switchboard [--present 1] [--runs 25]
//
// Prints the median, p90, min and max. Needs tests/interop/node_modules (scripts/setup.sh test).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { launchChromium } from '../tests/interop/lib/chromium.mjs';
import { Switchboard, killAll } from '../tests/interop/lib/switchboard_proc.mjs';

const opt = { present: 1, runs: 25, switchboard: 'build/release/switchboard' };
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const SECRET = 'bench';
const server = new Switchboard(opt.switchboard, ['--loops', '2', '--token-secret', SECRET]);
await server.start();
const browser = await launchChromium('sb-bench-join-', [
  '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns', '--autoplay-policy=no-user-gesture-required',
]);

async function open(user) {
  const token = execFileSync(opt.switchboard, ['token', '--secret', SECRET, '--user', user, '--info', `{"name":"${user}"}`],
    { encoding: 'utf8' }).trim();
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${server.httpUrl}/?token=${encodeURIComponent(token)}#room=bench`);
  await page.waitForFunction(() => window.switchboard?.client?.state === 'connected');
  return page;
}

try {
  const present = [];
  for (let i = 0; i < Number(opt.present); i++) {
    const p = await open(`present${i}`);
    await p.click('[data-testid="call-button"]');
    await p.waitForFunction(() => window.switchboard.call.room?.state === 'joined');
    present.push(p);
  }
  const guest = await open('guest');
  const times = [];
  for (let i = 0; i < Number(opt.runs); i++) {
    await guest.click('[data-testid="call-button"]');
    await guest.waitForFunction(() => window.switchboard.call.metrics.firstFrameMs !== null, null, { timeout: 15000, polling: 10 });
    times.push(await guest.evaluate(() => window.switchboard.call.metrics.firstFrameMs));
    await guest.click('[data-testid="call-button"]');
    await guest.waitForFunction(() => !window.switchboard.call.room);
    for (const p of present) await p.waitForFunction((n) => window.switchboard.call.room.participants.size === n, present.length - 1);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  console.log(JSON.stringify({ present: Number(opt.present), runs: times.length, median_ms: Math.round(at(0.5)),
    p90_ms: Math.round(at(0.9)), min_ms: Math.round(times[0]), max_ms: Math.round(times[times.length - 1]) }));
} finally {
  await browser.close();
  fs.rmSync(browser.userDataDir, { recursive: true, force: true });
  killAll();
}

// Shared helpers for the Node interop scripts: CLI parsing, check reporting, a watchdog,
// timeouts, deterministic payloads and a private network namespace.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { killAll } from './switchboard_proc.mjs';

export const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
export const KINDS = ['text-compressible', 'text-random', 'binary-compressible', 'binary-random'];

export const UNICODE_SAMPLES = [
  'héllo wörld',
  '日本語のテキスト — “quotes” ‘and’ …',
  'emoji 🎉🚀👍🏽 family 👨‍👩‍👧‍👦 flags 🇩🇪🇯🇵',
  '\u0000nul inside\u0000 and \u007f del',
  'max code point \u{10FFFF}, \uFEFF BOM, \uFFFD replacement char',
  'mixed: aé日🎉'.repeat(5000),
];

export function parseArgs(argv = process.argv.slice(2)) {
  const out = { switchboard: null, budget: 55 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--switchboard') out.switchboard = argv[++i];
    else if (a.startsWith('--switchboard=')) out.switchboard = a.slice(14);
    else if (a === '--budget') out.budget = Number(argv[++i]);
    else if (a === '-h' || a === '--help') {
      console.log('usage: node SCRIPT --switchboard PATH [--budget SECONDS]');
      process.exit(0);
    } else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!out.switchboard) {
    console.error('--switchboard PATH is required');
    process.exit(2);
  }
  out.switchboard = path.resolve(out.switchboard);
  return out;
}

export function binaryUsable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export class Report {
  constructor() {
    this.passed = 0;
    this.failed = 0;
    this.summarized = false;
  }

  check(name, ok, detail = '') {
    ok = !!ok;
    if (ok) this.passed++; else this.failed++;
    console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
    return ok;
  }

  summary() {
    if (this.summarized) return;
    this.summarized = true;
    console.log(`${this.passed} passed, ${this.failed} failed`);
  }

  get exitCode() { return this.failed === 0 && this.passed > 0 ? 0 : 1; }

  // Ends the process with a failure if it runs longer than `seconds`.
  watchdog(seconds, onFire = async () => {}) {
    const t = setTimeout(async () => {
      this.check('watchdog: script finished within budget', false, `${seconds}s exceeded`);
      try { await Promise.race([onFire(), sleep(3000)]); } catch { /* best effort */ }
      killAll();
      this.summary();
      process.exit(1);
    }, seconds * 1000);
    t.unref();
    return t;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// Deterministic xorshift32 bytes.
export function randomBytes(n, seed = 6455) {
  const buf = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf.writeUInt32LE(x, i);
  }
  for (; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

export const TEXT_UNIT = 'The quick brown fox jumps over the lazy dog. 0123456789 Switchboard!\n';

const cache = new Map();
// Returns { text: boolean, data: string | Buffer } of exactly n bytes (text is ASCII).
export function payload(kind, n) {
  const key = `${kind}:${n}`;
  if (cache.has(key)) return cache.get(key);
  let data;
  if (kind === 'text-compressible') data = TEXT_UNIT.repeat(Math.ceil(n / TEXT_UNIT.length) + 1).slice(0, n);
  else if (kind === 'text-random') data = randomBytes(Math.ceil(n * 3 / 4) + 3, n + 1).toString('base64').slice(0, n);
  else if (kind === 'binary-compressible') {
    data = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) data[i] = i & 0xff;
  } else if (kind === 'binary-random') data = randomBytes(n, n + 7);
  else throw new Error(kind);
  const v = { text: kind.startsWith('text'), data };
  if (n <= (1 << 20)) cache.set(key, v);
  return v;
}

export function describeMismatch(sent, got) {
  const a = Buffer.isBuffer(sent) ? sent : Buffer.from(sent);
  const b = Buffer.isBuffer(got) ? got : Buffer.from(got);
  if (a.length !== b.length) return `length sent ${a.length}, got ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `first differing byte at ${i}: sent 0x${a[i].toString(16)}, got 0x${b[i].toString(16)}`;
  }
  return 'equal';
}

/// Runs this script again inside a private network namespace (unshare --net, as root) with
/// loopback up and the shell commands `setup` run first, and exits with its status; inside the
/// namespace (SB_IN_NETNS=1) it returns at once. The test then has a network of its own: no port
/// clashes, and it may change nftables rules without touching the machine.
export function runInPrivateNetns(setup = []) {
  if (process.env.SB_IN_NETNS === '1') return;
  const script = ['ip link set lo up', ...setup, 'exec "$0" "$@"'].join(' && ');
  const r = spawnSync('unshare', ['--net', '--', 'sh', '-c', script, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, SB_IN_NETNS: '1' },
  });
  if (r.error || r.status === null) {
    console.log(`FAIL private network namespace for the test -- ${r.error || r.signal}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  process.exit(r.status);
}

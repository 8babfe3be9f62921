// Starts a `switchboard serve` process on a free loopback port for a test and stops it.
// Node twin of tests/support/switchboard_proc.py: the server prints one line on stdout,
// `Switchboard serving http://HOST:PORT` (https when TLS is configured), once it accepts
// connections, and before it `Switchboard STUN/TURN on HOST:PORT` when STUN/TURN is on;
// everything else it says goes to stderr (inherited here). STUN/TURN takes a free port unless the
// test names one: servers of parallel tests must not share 3478.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SERVING = /Switchboard serving (https?):\/\/([^:/\s]+):(\d+)/;
const TURN = /Switchboard STUN\/TURN on \[?([^\]\s]+?)\]?:(\d+)\s*$/m;
const live = new Set();

// Never leave a server behind, whatever way the test process ends.
process.on('exit', () => {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

export class Switchboard {
  constructor(binary, args = [], { env, timeout = 10000 } = {}) {
    this.binary = binary;
    this.args = ['serve', '--listen', '127.0.0.1:0', ...args];
    // Its own data directory unless the test names one: servers must not share a database.
    if (!args.includes('--data')) this.args.push('--data', mkdtempSync(join(tmpdir(), 'sb-test-')));
    if (!args.includes('--turn-listen')) this.args.push('--turn-listen', '127.0.0.1:0');
    this.turnPort = null;
    this.env = env;
    this.timeout = timeout;
    this.proc = null;
    this.scheme = this.host = this.port = null;
    this.exitCode = undefined;   // number, or null when killed by a signal
    this.exitSignal = null;
    this._exited = null;
  }

  start() {
    return new Promise((resolve, reject) => {
      const proc = spawn(this.binary, this.args, {
        env: { ...process.env, ...(this.env || {}) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      this.proc = proc;
      live.add(proc);
      this._exited = new Promise((res) => {
        proc.on('exit', (code, sig) => {
          live.delete(proc);
          this.exitCode = code;
          this.exitSignal = sig;
          res(code);
        });
      });
      let buf = '';
      let done = false;
      const finish = (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) { try { proc.kill('SIGKILL'); } catch { /* gone */ } reject(err); } else resolve(this);
      };
      const timer = setTimeout(() => finish(new Error('switchboard did not report its address in time')),
        this.timeout);
      proc.on('error', (e) => finish(e));
      proc.on('exit', (code, sig) => finish(new Error(`switchboard exited early with ${code ?? sig}`)));
      proc.stdout.setEncoding('utf8');
      proc.stdout.on('data', (chunk) => {
        if (done) return;
        buf += chunk;
        const t = TURN.exec(buf);
        if (t) this.turnPort = Number(t[2]);
        const m = SERVING.exec(buf);
        if (m) {
          [this.scheme, this.host, this.port] = [m[1], m[2], Number(m[3])];
          finish(null);
        }
      });
    });
  }

  get httpUrl() { return `${this.scheme}://${this.host}:${this.port}`; }
  get wsUrl() { return `${this.scheme === 'https' ? 'wss' : 'ws'}://${this.host}:${this.port}`; }

  async get(path, timeout = 5000) {
    const r = await fetch(this.httpUrl + path, { signal: AbortSignal.timeout(timeout) });
    return { status: r.status, body: Buffer.from(await r.arrayBuffer()) };
  }

  get running() { return this.proc !== null && this.exitCode === undefined; }

  // Resolves to the exit code (null if killed by a signal), or rejects after `timeout` ms.
  waitExit(timeout = 10000) {
    if (!this.proc) return Promise.resolve(null);
    let timer;
    return Promise.race([
      this._exited,
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`switchboard still running after ${timeout} ms`)), timeout); }),
    ]).finally(() => clearTimeout(timer));
  }

  signal(sig = 'SIGTERM') {
    if (this.running) this.proc.kill(sig);
  }

  // SIGTERM, then wait; resolves to the exit code. Kills and rejects after `timeout` ms.
  async stop(timeout = 10000) {
    if (!this.proc) return null;
    if (!this.running) return this.exitCode;
    this.proc.kill('SIGTERM');
    try {
      return await this.waitExit(timeout);
    } catch (e) {
      this.kill();
      throw new Error('switchboard did not exit within the shutdown timeout');
    }
  }

  kill() {
    if (this.running) { try { this.proc.kill('SIGKILL'); } catch { /* gone */ } }
  }
}

export function killAll() {
  for (const p of live) {
    try { p.kill('SIGKILL'); } catch { /* gone */ }
  }
}

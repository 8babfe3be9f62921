#!/usr/bin/python3
"""Switchboard WebSocket conformance suite (RFC 6455, RFC 7692), Python 3 standard library only.

    /usr/bin/python3 tests/conformance/ws_conformance.py --switchboard build/dev/switchboard \
        [--filter PREFIX[,PREFIX...]] [-v] [--list]

Families: 1 framing, 2 pings/pongs, 3 reserved bits, 4 opcodes, 5 fragmentation, 6 UTF-8,
7 close handling, 9 limits and throughput, 12/13 permessage-deflate, limits.* message size,
deflate.* compression rules and offers, hs.* handshake, sp.* subprotocols, or.* Origin,
ka.*/idle.* keep-alive and idle timeout, bc.* broadcast.

Every case runs on a fresh connection against one of a few shared `switchboard serve` processes
(one per flag set, see harness.SERVERS). Output: one line per failing case, then
`N passed, M failed`; exit status 0 only if nothing failed. Cases that pass non-strictly (the
server chose an outcome the RFC allows but our contract or a SHOULD does not prefer) are listed
with -v and counted on stderr.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "support"))

from switchboard_proc import Switchboard  # noqa: E402

import cases_core  # noqa: E402,F401  (registers cases)
import cases_utf8  # noqa: E402,F401
import cases_deflate  # noqa: E402,F401
import cases_http  # noqa: E402
from harness import CASES, SERVERS, Ctx, Fail  # noqa: E402
from wsclient import HandshakeError, ServerViolation  # noqa: E402


class Runner:
    def __init__(self, binary, logdir):
        self.binary = binary
        self.logdir = logdir
        self.servers = {}
        self.logs = {}
        self.start_errors = {}
        self.lock = threading.Lock()
        self.spawn_lock = threading.Lock()

    def spawn(self, name, flags):
        """Start a server with its stderr going to a log file. The launcher inherits our stderr,
        so fd 2 points at the log while the child is spawned (under the lock: other threads
        must not spawn at the same time)."""
        log_path = os.path.join(self.logdir, f"{name}.log")
        with self.spawn_lock, open(log_path, "ab") as log:
            sys.stderr.flush()
            saved = os.dup(2)
            os.dup2(log.fileno(), 2)
            try:
                return Switchboard(self.binary, *flags).start()
            except Exception as e:
                raise Fail(f"could not start switchboard {' '.join(flags)}: {e} (log: {log_path})")
            finally:
                os.dup2(saved, 2)
                os.close(saved)

    def start(self, key):
        """Start the shared server for flag set `key`."""
        self.logs[key] = os.path.join(self.logdir, f"{key}.log")
        try:
            srv = self.spawn(key, SERVERS[key])
        except Fail as e:  # reported on every case that needs this server
            self.start_errors[key] = str(e)
            srv = None
        self.servers[key] = srv
        return srv

    def server_or_none(self, key):
        with self.lock:
            if key not in self.servers:
                self.start(key)
            return self.servers[key]

    def server(self, key):
        srv = self.server_or_none(key)
        if srv is None:
            raise Fail(self.start_errors.get(key, f"server {key} unavailable"))
        return srv

    def check_alive(self, key):
        """If the server died, say how, restart it, and return a note for the failing case."""
        with self.lock:
            srv = self.servers.get(key)
            if srv is None:
                return None
            if srv.proc.poll() is None:
                try:
                    socket.create_connection((srv.host, srv.port), timeout=1.0).close()
                    return None  # still accepting connections
                except OSError:
                    pass
                try:  # not accepting: it may be exiting right now
                    srv.proc.wait(2.0)
                except subprocess.TimeoutExpired:
                    return f"[server '{key}' no longer accepts connections; log: {self.logs[key]}]"
            code = srv.proc.returncode
            self.start(key)
        return (f"[server '{key}' exited with status {code} during this case and was restarted; "
                f"its stderr is in {self.logs[key]}]")

    def stop_all(self):
        results = []
        for key, srv in self.servers.items():
            if srv is None:
                continue
            try:
                code = srv.stop(timeout=5.0)
                if code not in (0, None):
                    results.append((f"shutdown.{key}", f"exited with status {code} after SIGTERM "
                                    f"(stderr: {self.logs[key]})"))
                else:
                    results.append((f"shutdown.{key}", None))
            except RuntimeError as e:
                results.append((f"shutdown.{key}", str(e)))
        return results


def run_case(runner, c):
    ctx = Ctx(runner, c)
    t0 = time.monotonic()
    error = None
    try:
        c.fn(ctx, *c.args)
    except Fail as e:
        error = str(e)
    except ServerViolation as e:
        error = str(e)
    except HandshakeError as e:
        error = f"handshake: {e}"
    except (socket.timeout, TimeoutError):
        error = "timed out"
    except OSError as e:
        error = f"I/O error: {e}"
    except Exception:
        error = "suite error: " + traceback.format_exc(limit=3).strip().replace("\n", " | ")
    finally:
        ctx.cleanup()
    if error is not None:
        note = runner.check_alive(c.server)
        if note:
            error = f"{error} {note}"
    return error, ctx.notes, time.monotonic() - t0


def matches(name, prefixes):
    for p in prefixes:
        if name.startswith(p):
            rest = name[len(p):]
            # "6.1" selects 6.1 and 6.1.x, not 6.10; "deflate" selects deflate.*.
            if not rest or not (p[-1].isdigit() and rest[0].isdigit()):
                return True
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--switchboard", required=True, help="path to the switchboard binary")
    ap.add_argument("--filter", default="", help="run only cases whose name starts with PREFIX "
                    "(comma-separated list allowed)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case and note")
    ap.add_argument("--list", action="store_true", help="list the selected cases and exit")
    args = ap.parse_args(argv)

    names = [c.name for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        print(f"suite error: duplicate case names {sorted(dup)}", file=sys.stderr)
        return 2
    prefixes = [p.strip() for p in args.filter.split(",") if p.strip()]
    selected = [c for c in CASES if not prefixes or matches(c.name, prefixes)]
    if args.list:
        for c in selected:
            print(f"{c.name:16} [{c.server}] {c.desc}")
        print(f"{len(selected)} cases")
        return 0
    if not selected:
        print(f"no case matches {args.filter!r}", file=sys.stderr)
        print("0 passed, 0 failed")
        return 1
    binary = os.path.abspath(args.switchboard)
    if not os.access(binary, os.X_OK):
        print(f"{binary} is not an executable file", file=sys.stderr)
        return 2

    logdir = tempfile.mkdtemp(prefix="switchboard-conformance-")
    runner = Runner(binary, logdir)
    t_start = time.monotonic()
    for key in dict.fromkeys(c.server for c in selected):  # start each needed server once
        runner.server_or_none(key)

    results = {}
    slow = [c for c in selected if c.name in cases_http.SLOW]
    threads = []
    for c in slow:
        def go(c=c):
            results[c.name] = run_case(runner, c)
        t = threading.Thread(target=go, daemon=True)
        t.start()
        threads.append(t)
    for c in selected:
        if c.name in cases_http.SLOW:
            continue
        results[c.name] = run_case(runner, c)
    for t in threads:
        t.join(30)
    shutdown = runner.stop_all()

    passed = failed = nonstrict = 0
    for c in selected:
        error, notes, dt = results.get(c.name, ("did not finish", [], 0.0))
        if error is not None:
            failed += 1
            print(f"FAIL {c.name}: {error}", flush=True)
        else:
            passed += 1
            if notes:
                nonstrict += 1
            if args.verbose:
                tag = "NON-STRICT" if notes else "ok"
                print(f"{tag:10} {c.name} ({dt * 1000:.0f} ms) {c.desc}"
                      + "".join(f"\n           note: {n}" for n in notes))
    for name, error in shutdown:
        if error is None:
            passed += 1
            if args.verbose:
                print(f"{'ok':10} {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {error}", flush=True)
    elapsed = time.monotonic() - t_start
    if failed:
        where = f"; server logs in {logdir}"
    else:
        shutil.rmtree(logdir, ignore_errors=True)
        where = ""
    print(f"({elapsed:.1f} s; {nonstrict} passed non-strictly{'' if args.verbose else ', see -v'}"
          f"{where})", file=sys.stderr)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

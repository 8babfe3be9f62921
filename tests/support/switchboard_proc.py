"""Starts a `switchboard serve` process on a free loopback port for a test and stops it.

The server prints one line on stdout, `Switchboard serving http://HOST:PORT` (https when TLS is
configured), once it accepts connections, and before it `Switchboard STUN/TURN on HOST:PORT`
when STUN/TURN is on; everything else it says goes to stderr. Unless the test says otherwise,
STUN/TURN takes a free port too: servers of parallel tests must not share 3478.
"""
import os
import re
import shutil
import tempfile
import signal
import subprocess
import time
import urllib.request

_SERVING = re.compile(r"Switchboard serving (https?)://([^:/\s]+):(\d+)")
_TURN = re.compile(r"Switchboard STUN/TURN on \[?([^\]\s]+?)\]?:(\d+)\s*$")
_TURN_TLS = re.compile(r"Switchboard TURN over TLS on \[?([^\]\s]+?)\]?:(\d+)\s*$")


class Switchboard:
    def __init__(self, binary, *args, env=None, timeout=10.0):
        self.binary = binary
        self.args = ["serve", "--listen", "127.0.0.1:0", *args]
        # Each server gets its own data directory unless the test names one: two servers must
        # not share a database (the second would refuse to start).
        self.own_data = None
        if "--data" not in args:
            self.own_data = tempfile.mkdtemp(prefix="sb-test-")
            self.args += ["--data", self.own_data]
        if "--turn-listen" not in args:
            self.args += ["--turn-listen", "127.0.0.1:0"]
        self.turn_port = None
        self.turn_tls_port = None
        self.env = env
        self.timeout = timeout
        self.proc = None
        self.host = None
        self.port = None
        self.scheme = None

    def start(self):
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.proc = subprocess.Popen([self.binary, *self.args], stdout=subprocess.PIPE,
                                     stderr=None, env=env, text=True)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"switchboard exited early with {self.proc.wait()}")
            t = _TURN.search(line)
            if t:
                self.turn_port = int(t.group(2))
            t = _TURN_TLS.search(line)
            if t:
                self.turn_tls_port = int(t.group(2))
            m = _SERVING.search(line)
            if m:
                self.scheme, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
                return self
        raise RuntimeError("switchboard did not report its address in time")

    @property
    def http_url(self):
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def ws_url(self):
        return f"{'wss' if self.scheme == 'https' else 'ws'}://{self.host}:{self.port}"

    def get(self, path):
        with urllib.request.urlopen(self.http_url + path, timeout=5) as r:
            return r.status, r.read()

    def stop(self, timeout=10.0):
        """SIGTERM, then wait; returns the exit code. Kills after `timeout` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("switchboard did not exit within the shutdown timeout")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            if self.own_data:
                shutil.rmtree(self.own_data, ignore_errors=True)

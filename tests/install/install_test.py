#!/usr/bin/env python3
"""The native client SDK as another project uses it: `cmake --install` this build into a
temporary prefix, build tests/install/consumer (find_package(Switchboard), Switchboard::client)
against it, and run the result — a program that joins a room and keeps the first file sent to it
— against the installed server, with the installed `switchboard send` sending it a file."""
import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, finish  # noqa: E402


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--source-dir", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sb-install-")
    server = inbox = None
    try:
        prefix = os.path.join(tmp, "prefix")
        r = run(["cmake", "--install", args.build_dir, "--prefix", prefix])
        headers = os.path.join(prefix, "include", "switchboard", "client.hpp")
        check("cmake --install puts the binary, the headers, the archive and the package config in the prefix",
              r.returncode == 0 and os.path.exists(os.path.join(prefix, "bin", "switchboard")) and os.path.exists(headers)
              and os.path.exists(os.path.join(prefix, "lib", "libswitchboard_client.a"))
              and os.path.exists(os.path.join(prefix, "lib", "cmake", "Switchboard", "SwitchboardConfig.cmake")), r.stdout[-2000:])
        build = os.path.join(tmp, "consumer")
        r = run(["cmake", "-S", os.path.join(args.source_dir, "tests", "install", "consumer"), "-B", build,
                 f"-DCMAKE_PREFIX_PATH={prefix}", "-DCMAKE_BUILD_TYPE=Release"])
        if not check("a consumer project configures with find_package(Switchboard)", r.returncode == 0, r.stdout[-3000:]):
            return
        r = run(["cmake", "--build", build])
        if not check("... and builds against Switchboard::client", r.returncode == 0, r.stdout[-3000:]):
            return
        port = free_port()
        binary = os.path.join(prefix, "bin", "switchboard")
        server = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--turn-listen", "127.0.0.1:0",
                                   "--data", os.path.join(tmp, "data")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"ws://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        out_dir = os.path.join(tmp, "inbox")
        os.mkdir(out_dir)
        inbox = subprocess.Popen([os.path.join(build, "inbox"), url, "installed", out_dir],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        payload = os.urandom(3 * 1024 * 1024 + 17)
        src = os.path.join(tmp, "hello.bin")
        with open(src, "wb") as f:
            f.write(payload)
        want = hashlib.sha256(payload).hexdigest()
        sent = run([binary, "send", src, "--room", "installed", "--server", url, "--timeout", "30", "--quiet"], timeout=60)
        out, err = inbox.communicate(timeout=60)
        check("the installed `switchboard send` delivers", sent.returncode == 0, sent.stdout)
        check("the consumer program receives the file and verifies it", inbox.returncode == 0 and f"got hello.bin {len(payload)} {want}" in out,
              out + err)
        got = os.path.join(out_dir, "hello.bin")
        check("... and the file on disk is the one sent", os.path.exists(got) and open(got, "rb").read() == payload)
    finally:
        for p in (inbox, server):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()

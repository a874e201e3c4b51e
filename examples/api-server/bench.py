#!/usr/bin/env python3
"""api-server against nginx, and its middleware cost, with wrk.

Usage: bench.py API_SERVER_BINARY HTTPBENCH_PY [httpbench options...]

Prepares a keystore and a read token in a temp dir, reads the exact body of
GET /v1/info from the server, then runs bench/tools/httpbench.py (which
starts nginx 1.22 with `return 200` of the same body and runs wrk against
every server, alternating the order each round) with two api-server
configurations, 1 and 2 workers each:

  raw   every middleware off (--no-auth --no-trace --no-access-log
        --no-metrics --no-ratelimit): the "raw route"
  full  every middleware on: JWT (the bearer token is sent by wrk to all
        three servers; nginx and raw ignore it), rate limits high enough
        never to reject, tracing, metrics, JSON access logs to a file

Then prints the targets of issue 10: raw >= 1.0x nginx requests/s with
p99 <= 1.2x nginx's, and full >= 0.75x raw requests/s. Timings never fail
the run; a server that cannot start or answers wrongly does (exit 1).
Extra options go to httpbench.py (--quick, --duration S, --rounds N, ...).
"""
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

RAW_FLAGS = "--no-auth --no-trace --no-access-log --no-metrics --no-ratelimit"


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    binary, httpbench, extra = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="api-bench-")
    env = dict(os.environ, API_SERVER_PASSPHRASE="api-bench passphrase")
    try:
        keys = os.path.join(tmp, "bench.keys")
        common = f"--keystore {keys} --log-level info"
        r = subprocess.run([binary, "keygen", "--keystore", keys], env=env, capture_output=True,
                           text=True, timeout=60)
        if r.returncode != 0:
            print(f"bench: keygen failed: {r.stderr}", file=sys.stderr)
            return 1
        r = subprocess.run([binary, "token", "--keystore", keys, "--sub", "bench", "--scope",
                            "read", "--ttl", "1d"], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.returncode != 0:
            print(f"bench: token failed: {r.stderr}", file=sys.stderr)
            return 1
        token = r.stdout.strip()
        body = info_body(binary, env, tmp)
        log = os.path.join(tmp, "access.log")
        raw = (f"{binary} serve --listen-port {{port}} --workers {{workers}} {RAW_FLAGS} "
               f"--db-path {tmp}/raw.db --log-level warn")
        # The access log is removed before each run so the disk holds one run's lines.
        full_cmd = (f"{binary} serve --listen-port {{port}} --workers {{workers}} {common} "
                    f"--db-path {tmp}/full.db --rate-per-addr 100000000 "
                    f"--rate-per-token 100000000 --log-file {log}")
        full = f"sh -c {shlex.quote(f'rm -f {log}; exec {full_cmd}')}"
        out = os.path.join(tmp, "results.json")
        cmd = [sys.executable, httpbench, "--workers", "1,2", "--body", body,
               "--header", f"Authorization: Bearer {token}", "--json", out,
               "--server", f"raw={raw}", "--server", f"full={full}"] + extra
        print("# " + " ".join(shlex.quote(c) for c in cmd).replace(token, "<token>"))
        rc = subprocess.run(cmd, env=env).returncode
        if os.path.exists(out):
            summarize(json.load(open(out)))
        return rc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def info_body(binary, env, tmp):
    """The exact bytes of GET /v1/info (what nginx must return too)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([binary, "serve", "--listen-port", str(port), "--db-path",
                          f"{tmp}/probe.db"] + RAW_FLAGS.split(), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 30
        while True:
            try:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(f"http://127.0.0.1:{port}/v1/info", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                if time.monotonic() > end or p.poll() is not None:
                    raise
                time.sleep(0.1)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


def summarize(doc):
    by = {(r["workers"], r["server"]): r for r in doc["results"]}
    print("\n# issue 10 targets (ratios of medians)")
    for w in sorted({r["workers"] for r in doc["results"]}):
        ng, raw, full = by.get((w, "nginx")), by.get((w, "raw")), by.get((w, "full"))
        if ng and raw:
            rr, pr = raw["rps"] / ng["rps"], raw["p99_ms"] / ng["p99_ms"]
            print(f"{w} worker(s): raw/nginx req/s {rr:.2f}x (target >= 1.0: "
                  f"{'met' if rr >= 1.0 else 'MISSED'}), p99 {pr:.2f}x (target <= 1.2: "
                  f"{'met' if pr <= 1.2 else 'MISSED'})")
        if raw and full:
            fr = full["rps"] / raw["rps"]
            print(f"{w} worker(s): full/raw req/s {fr:.2f}x = middleware cost {100 * (1 - fr):.0f}% "
                  f"(target <= 25%: {'met' if fr >= 0.75 else 'MISSED'}), p99 "
                  f"{full['p99_ms']:.3f} vs {raw['p99_ms']:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())

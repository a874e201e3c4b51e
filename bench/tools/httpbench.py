#!/usr/bin/env python3
"""httpbench: HTTP servers against nginx, in one run, with wrk.

Starts nginx (Debian nginx-light) in a temporary prefix, serving BODY with
`return 200` at PATH, and every server given with --server, one at a time,
each on a free 127.0.0.1 port, and runs

    wrk -t T -c C -d D --latency http://127.0.0.1:PORT/PATH

against each, reading the CPU time the server (with its child processes)
used during the run, so `cpu us/req` shows how much machine each request
costs even when the load generator, not the server, sets the pace. Rounds
alternate the order (nginx first, then last, ...), so
load from the rest of the machine hits every server alike. For each worker
count it prints requests/s and p99 latency (medians over rounds) and their
ratios to nginx's: `rps x` above 1 means more requests/s than nginx, `p99 x`
below 1 means a lower p99.

A server is given as NAME=COMMAND; COMMAND is split like a shell would
(shlex) after `{port}` and `{workers}` are replaced. The harness waits for
the port to accept, checks that GET PATH returns 200 with exactly BODY, then
benchmarks it, then stops it with SIGTERM (SIGKILL after 5 s).

    httpbench.py --workers 1,2 --server 'rivet=./http-info-server --port {port} --threads {workers}'
    httpbench.py --quick ...      # smoke test: 1 worker, 1 round of 1 s
    httpbench.py --json out.json  # also write the results as JSON (- = stdout)
    httpbench.py --server-cpus 0 --client-cpus 1 ...  # pin servers and wrk apart

Exit status: 0, or 1 if a server failed to start, answered wrongly, or wrk
saw errors (socket errors or non-2xx responses). Timings never fail it.
"""

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

DEFAULT_BODY = (
    '{"service":"rivet-api","version":"0.2.0","status":"ok",'
    '"region":"local","devices":42,"uptime_s":86400}'
)

NGINX_CONF = """\
worker_processes {workers};
daemon off;
master_process on;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    server {{
        listen 127.0.0.1:{port};
        location = {path} {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
"""


class BenchError(Exception):
    pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"exited with status {proc.returncode} before accepting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"port {port} did not accept within {timeout} s")


def check_response(port, path, body, headers=()):
    url = f"http://127.0.0.1:{port}{path}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    hdrs = dict((k.strip(), v.strip()) for k, v in (h.split(":", 1) for h in headers))
    req = urllib.request.Request(url, headers=hdrs)
    with opener.open(req, timeout=10) as r:
        got = r.read().decode()
        if r.status != 200 or got != body:
            raise BenchError(f"GET {path}: status {r.status}, body {got!r}, want {body!r}")


def stop(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise BenchError(f"cannot read latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(out):
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    total = re.search(r"^\s+(\d+) requests in", out, re.M)
    if not (rps and p99 and p50 and total):
        raise BenchError("cannot parse wrk output:\n" + out)
    errors = 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return {
        "rps": float(rps.group(1)),
        "p50_ms": to_ms(p50.group(1)),
        "p99_ms": to_ms(p99.group(1)),
        "requests": int(total.group(1)),
        "errors": errors,
    }


def tree_cpu_seconds(pid):
    """User + system CPU seconds of pid and every live descendant."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()  # fields after "pid (comm)"
        procs[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))  # ppid, utime + stime
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        if p in procs:
            total += procs[p][1]
            todo.extend(c for c, (pp, _) in procs.items() if pp == p)
    return total / tick


def cpus(text):
    """A preexec_fn pinning the child to the CPUs in text ("0,1"), or None."""
    if not text:
        return None
    mask = {int(c) for c in text.split(",") if c}
    return lambda: os.sched_setaffinity(0, mask)


def run_wrk(args, port):
    cmd = [args.wrk, "-t", str(args.threads), "-c", str(args.conns), "-d", f"{args.duration}s",
           "--timeout", f"{args.timeout}s", "--latency", f"http://127.0.0.1:{port}{args.path}"]
    for h in args.header:
        cmd[1:1] = ["-H", h]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=args.duration + 60,
                       preexec_fn=cpus(args.client_cpus))
    if r.returncode != 0:
        raise BenchError(f"wrk failed ({r.returncode}): {r.stderr.strip()}")
    return parse_wrk(r.stdout)


def start_nginx(args, workers, tmp):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    body = args.body.replace("\\", "\\\\").replace("'", "\\'")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(workers=workers, tmp=tmp, port=port, path=args.path, body=body))
    cmd = [args.nginx, "-p", tmp, "-c", conf, "-e", os.path.join(tmp, "error.log")]
    return cmd, port


def one_run(args, name, command, workers, tmp):
    """Start the server, check it, run wrk, stop it; returns wrk's numbers."""
    for attempt in range(3):  # a free port can be taken between probe and bind
        if name == "nginx":
            cmd, port = start_nginx(args, workers, tmp)
        else:
            port = free_port()
            cmd = shlex.split(command.format(port=port, workers=workers))
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                preexec_fn=cpus(args.server_cpus))
        try:
            try:
                wait_port(port, proc, 15)
            except BenchError as e:
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
                if attempt < 2:
                    continue
                raise BenchError(f"{name}: {e}\n{err}") from None
            check_response(port, args.path, args.body, args.header)
            cpu0 = tree_cpu_seconds(proc.pid)
            res = run_wrk(args, port)
            cpu = tree_cpu_seconds(proc.pid) - cpu0
            res["cpu_us_per_req"] = cpu * 1e6 / res["requests"] if res["requests"] else 0.0
            if proc.poll() is not None:
                raise BenchError(f"{name} exited during the run ({proc.returncode})")
            return res
        finally:
            stop(proc)
    raise BenchError(f"{name}: could not start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", action="append", default=[], metavar="NAME=COMMAND",
                    help="a server to compare with nginx; {port} and {workers} are replaced")
    ap.add_argument("--workers", default="1,2", help="worker counts, comma-separated (default 1,2)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--conns", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, order alternating (default 3)")
    ap.add_argument("--path", default="/v1/info", help="the request path (default /v1/info)")
    ap.add_argument("--body", default=DEFAULT_BODY, help="the expected JSON body")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    ap.add_argument("--server-cpus", metavar="LIST", help="pin every server to these CPUs (0,1)")
    ap.add_argument("--client-cpus", metavar="LIST", help="pin wrk to these CPUs")
    ap.add_argument("--timeout", type=int, default=2,
                    help="wrk's per-request timeout in s, counted as an error (default 2)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: first worker count, 1 round of 1 s, 1 thread, 8 connections, "
                         "10 s request timeout (a loaded machine is not an error)")
    ap.add_argument("--json", metavar="FILE", help="write results as JSON (- = stdout)")
    ap.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                    help="a request header sent to every server (repeatable), e.g. a bearer token")
    args = ap.parse_args()
    if args.quick:
        args.workers = args.workers.split(",")[0]
        args.rounds, args.duration, args.threads, args.conns = 1, 1, 1, 8
        args.timeout = max(args.timeout, 10)
    servers = [("nginx", None)]
    for s in args.server:
        name, sep, cmd = s.partition("=")
        if not sep or not name or not cmd or name == "nginx":
            ap.error(f"--server wants NAME=COMMAND (NAME not nginx): {s!r}")
        servers.append((name, cmd))
    for tool in (args.nginx, args.wrk):
        if shutil.which(tool) is None:
            print(f"httpbench: {tool} not found", file=sys.stderr)
            return 1
    workers_list = [int(w) for w in args.workers.split(",") if w]

    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        pass
    print(f"# httpbench: {os.cpu_count()} CPUs ({cpu}), {platform.system()} {platform.release()}")
    print(f"# wrk -t {args.threads} -c {args.conns} -d {args.duration}s --latency, "
          f"{args.rounds} round(s), GET {args.path} ({len(args.body)}-byte body)"
          + (f", servers on CPUs {args.server_cpus}" if args.server_cpus else "")
          + (f", wrk on CPUs {args.client_cpus}" if args.client_cpus else ""))

    results = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="httpbench-") as tmp:
        os.chmod(tmp, 0o755)  # nginx workers may run as another user
        for workers in workers_list:
            runs = {name: [] for name, _ in servers}
            for rnd in range(args.rounds):
                order = servers if rnd % 2 == 0 else list(reversed(servers))
                for name, cmd in order:
                    try:
                        r = one_run(args, name, cmd, workers, tmp)
                    except (BenchError, subprocess.SubprocessError, OSError) as e:
                        print(f"httpbench: {name}, {workers} worker(s): {e}", file=sys.stderr)
                        failed = True
                        continue
                    if r["errors"]:
                        print(f"httpbench: {name}: {r['errors']} errors in the wrk run",
                              file=sys.stderr)
                        failed = True
                    runs[name].append(r)
            base = runs["nginx"]
            base_rps = statistics.median(x["rps"] for x in base) if base else None
            base_p99 = statistics.median(x["p99_ms"] for x in base) if base else None
            for name, _ in servers:
                rs = runs[name]
                if not rs:
                    continue
                rps = statistics.median(x["rps"] for x in rs)
                p99 = statistics.median(x["p99_ms"] for x in rs)
                results.append({
                    "workers": workers, "server": name, "rps": rps, "p99_ms": p99,
                    "p50_ms": statistics.median(x["p50_ms"] for x in rs),
                    "cpu_us_per_req": statistics.median(x["cpu_us_per_req"] for x in rs),
                    "rps_min": min(x["rps"] for x in rs), "rps_max": max(x["rps"] for x in rs),
                    "rps_ratio": rps / base_rps if base_rps else None,
                    "p99_ratio": p99 / base_p99 if base_p99 else None,
                    "rounds": len(rs), "errors": sum(x["errors"] for x in rs),
                    "runs": rs,
                })

    hdr = f"{'workers':>7}  {'server':<12} {'req/s':>10} {'min':>10} {'max':>10} " \
          f"{'p50 ms':>8} {'p99 ms':>8} {'cpu us/req':>10} {'rps x':>6} {'p99 x':>6}"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        rr = f"{r['rps_ratio']:.2f}" if r["rps_ratio"] is not None else "-"
        pr = f"{r['p99_ratio']:.2f}" if r["p99_ratio"] is not None else "-"
        print(f"{r['workers']:>7}  {r['server']:<12} {r['rps']:>10.0f} {r['rps_min']:>10.0f} "
              f"{r['rps_max']:>10.0f} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} "
              f"{r['cpu_us_per_req']:>10.2f} {rr:>6} {pr:>6}")
    if args.json:
        doc = {"cpu": cpu, "nproc": os.cpu_count(), "threads": args.threads, "conns": args.conns,
               "duration_s": args.duration, "rounds": args.rounds, "path": args.path,
               "quick": args.quick, "results": results}
        text = json.dumps(doc, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

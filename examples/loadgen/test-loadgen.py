#!/usr/bin/env python3
"""Test of examples/loadgen: --help, bad arguments (exit 2, the message names
the flag), and a tiny run against examples/echo on a free 127.0.0.1 port
(bounded in time; the server is stopped at the end).
Usage: test-loadgen.py LOADGEN_BINARY ECHO_BINARY"""
import json
import re
import signal
import subprocess
import sys

BAD = [
    (["-c", "abc"], "-c"),
    (["-c", "-5"], "-c"),
    (["-c", "0"], "-c"),
    (["-p", "70000"], "-p"),
    (["-p", "0"], "-p"),
    (["-m", "8"], "-m"),
    (["-m", "5000"], "-m"),
    (["-P", "0"], "-P"),
    (["-P", "65"], "-P"),
    (["-a", "251"], "-a"),
    (["-d", "1.5"], "-d"),
    (["-q", "0"], "-q"),
    (["-r", "+5"], "-r"),
    (["-S", "x"], "-S"),
    (["-k", " 3"], "-k"),
    (["-c", "1", "-P", "2"], "-c"),
    (["-h", "localhost"], "-h"),
    (["-q"], "-q"),
    (["-z"], "-z"),
    (["--bogus"], "--bogus"),
    (["extra"], "extra"),
]
FLAGS = ["-h host", "-p port", "-c conns", "-P procs", "-a naddrs", "-d secs", "-r rate",
         "-q depth", "-m size", "-S bps", "-B", "-k secs", "--help"]


def check_args(binary):
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"--help exited {r.returncode}"
    for flag in FLAGS:
        assert flag in r.stdout, f"--help does not describe {flag}"
    for args, flag in BAD:
        r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, f"{args}: exit {r.returncode}, want 2"
        first = r.stderr.splitlines()[0] if r.stderr else ""
        assert flag in first, f"{args}: message {first!r} does not name {flag}"
        assert "usage:" in r.stderr, f"{args}: no usage on stderr"
        assert "loadgen:" not in r.stdout, f"{args}: ran anyway"
        print(f"ok {args}: {first}")


def start_echo(binary):
    """Starts echo on a free port with one worker; returns (process, port)."""
    p = subprocess.Popen([binary, "-p", "0", "-w", "1"], stderr=subprocess.PIPE, text=True)
    for _ in range(20):
        line = p.stderr.readline()
        if not line:
            break
        rec = json.loads(line)
        if rec.get("msg") == "listening":
            return p, int(rec["port"])
    p.kill()
    raise AssertionError("echo did not report its port")


def main():
    loadgen, echo = sys.argv[1], sys.argv[2]
    check_args(loadgen)
    p, port = start_echo(echo)
    try:
        r = subprocess.run([loadgen, "-p", str(port), "-c", "20", "-P", "2", "-d", "1", "-q", "2"],
                           capture_output=True, text=True, timeout=60)
        print(r.stdout, end="")
        assert r.returncode == 0, f"loadgen exited {r.returncode}: {r.stderr}"
        line = [x for x in r.stdout.splitlines() if x.startswith("loadgen: ")]
        assert len(line) == 1, "no loadgen: line"
        kv = dict(re.findall(r"(\w+)=(\S+)", line[0]))
        assert kv["conns"] == "20" and kv["failed"] == "0", kv
        assert int(kv["sent"]) > 0 and kv["received"] == kv["sent"], kv
        assert kv["lost"] == "0" and kv["corrupt"] == "0" and kv["truncated"] == "0", kv
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError("echo did not stop on SIGTERM")
    assert rc == 0, f"echo exited {rc} after SIGTERM"
    print("ok tiny run; echo stopped on SIGTERM")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Test of examples/echo: --help, bad arguments (exit 2, the message names the
flag), and a short real run: listen on a free port, echo a few bytes, stop
gracefully on SIGTERM. Usage: test-echo.py ECHO_BINARY"""
import json
import signal
import socket
import subprocess
import sys

BAD = [
    (["-p", "70000"], "-p"),
    (["-p", "abc"], "-p"),
    (["-w", "-5"], "-w"),
    (["-w", "0"], "-w"),
    (["-i", "12x"], "-i"),
    (["-c", "0"], "-c"),
    (["-c", "99999999999999999999999"], "-c"),
    (["-b", ""], "-b"),
    (["-H", "1000"], "-L"),
    (["-h", "not-an-address"], "-h"),
    (["-p"], "-p"),
    (["-x"], "-x"),
    (["--bogus"], "--bogus"),
    (["extra"], "extra"),
]


def check_args(binary):
    r = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, f"--help exited {r.returncode}"
    for flag in ["-h host", "-p port", "-w workers", "-i idle_ms", "-c read_chunk",
                 "-b pool_blocks", "-H high_wm", "-L low_wm", "--help"]:
        assert flag in r.stdout, f"--help does not describe {flag}"
    for args, flag in BAD:
        r = subprocess.run([binary] + args, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, f"{args}: exit {r.returncode}, want 2"
        first = r.stderr.splitlines()[0] if r.stderr else ""
        assert flag in first, f"{args}: message {first!r} does not name {flag}"
        assert "usage:" in r.stderr, f"{args}: no usage on stderr"
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


def stop_echo(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("echo did not stop on SIGTERM")
    assert rc == 0, f"echo exited {rc} after SIGTERM"


def main():
    binary = sys.argv[1]
    check_args(binary)
    p, port = start_echo(binary)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            msg = b"hello, rivet\n" * 100
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = s.recv(65536)
                assert chunk, "echo closed the connection"
                got += chunk
            assert got == msg, "echo changed the bytes"
        print(f"ok echoed {len(msg)} bytes on port {port}")
    finally:
        stop_echo(p)
    print("ok stopped on SIGTERM")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Test of examples/protocol: the four client/server pairings (v1/v2 each
way), a client whose version range does not overlap, unknown-field
preservation byte for byte, malformed payloads (reported and skipped) and
garbage frames (the connection is closed, the server keeps serving).

Usage: test-protocol.py KV_SERVER KV_CLIENT"""
import re
import signal
import socket
import subprocess
import sys
import time

SERVER, CLIENT = sys.argv[1], sys.argv[2]
TIMEOUT = 20


def start_server(version):
    p = subprocess.Popen([SERVER, "--protocol", str(version), "-p", "0"],
                         stderr=subprocess.PIPE, text=True)
    m = re.search(r"protocol v(\d), listening on 127\.0\.0\.1:(\d+)$", p.stderr.readline().strip())
    assert m and int(m.group(1)) == version, "server did not start"
    return p, int(m.group(2))


def client(version, port, commands, *extra):
    """Run kv-client with COMMANDS on stdin; return (exit code, output lines)."""
    r = subprocess.run([CLIENT, "--protocol", str(version), "-p", str(port), *extra],
                       input="".join(c + "\n" for c in commands), capture_output=True,
                       text=True, timeout=TIMEOUT)
    return r.returncode, r.stdout.splitlines()


def session(version, port, commands, *extra):
    rc, out = client(version, port, commands, *extra)
    assert rc == 0, f"kv-client exited {rc}: {out}"
    return out


def one(version, port, *argv):
    """Run kv-client with one command given as arguments; return its output lines."""
    r = subprocess.run([CLIENT, "--protocol", str(version), "-p", str(port), *argv],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, f"kv-client exited {r.returncode}: {r.stdout}"
    return r.stdout.splitlines()


def expect(lines, patterns):
    assert len(lines) == len(patterns), f"expected {len(patterns)} lines, got {lines}"
    for got, want in zip(lines, patterns):
        assert re.fullmatch(want, got), f"expected {want!r}, got {got!r}"


def frames(lines):
    """The frames a --hex client sent, as bytes."""
    return [bytes.fromhex(line[2:]) for line in lines if line.startswith("> ")]


def payloads(lines):
    """The payloads a --hex client received, as hex strings."""
    return [line.split(": ", 1)[1] for line in lines if line.startswith("< type 19: ")]


def closed_after(port, data, want_prefix=b""):
    """Send DATA on a fresh connection; the server must close it (EOF)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    got = b""
    while True:
        chunk = s.recv(4096)  # a timeout raises: the server kept it open
        if not chunk:
            break
        got += chunk
    s.close()
    assert got.startswith(want_prefix), f"unexpected reply {got!r}"
    return got


def pairings(p1, p2):
    # v1 client, v1 server: the base protocol.
    out = session(1, p1, ["put a 1", "get a", "get nope", "del a", "get a", "put t 1 500", "scan"])
    expect(out, [r"connected: protocol v1 \(this client speaks 1\.\.1\)", "OK",
                 r'OK record\{key="a" value="1"\}', "NOT_FOUND", "OK", "NOT_FOUND",
                 "error: put: a TTL needs protocol v2 .*", "error: scan: not part of protocol v1 .*"])

    # v2 client, v2 server: TTL, version counter, SCAN.
    out = session(2, p2, ["put k1 x 60000", "put k2 y", "put j z", "get k1", "scan k",
                          "scan k 1", "del j", "get j", "put short v 1"])
    expect(out, [r"connected: protocol v2 \(this client speaks 1\.\.2\)", "OK version=1",
                 "OK version=2", "OK version=3",
                 r'OK record\{key="k1" value="x" ttl_ms=60000\} version=1',
                 r'OK version=3 entries\{key="k1" value="x" ttl_ms=60000\} '
                 r'entries\{key="k2" value="y"\}',
                 r'OK version=3 entries\{key="k1" value="x" ttl_ms=60000\}',
                 "OK version=4", "NOT_FOUND", "OK version=5"])
    time.sleep(0.1)  # well past the 1 ms TTL, however loaded the machine is
    expect(session(2, p2, ["get short", "get k2"]),
           ["connected: protocol v2 .*", "NOT_FOUND", r'OK record\{key="k2" value="y"\} version=2'])

    # v1 client, v2 server: works; the v2 fields reach it as unknown fields
    # (skipped, shown raw); a v2-only message on this v1 connection is
    # reported and skipped, and the connection goes on.
    out = session(1, p2, ["get k1", "put m 1", "raw 20 0a016b", "get m"])
    expect(out, [r"connected: protocol v1 \(this client speaks 1\.\.1\)",
                 r'OK record\{key="k1" value="x" \?3=18e0d403\} \?4=2001', r"OK \?4=2006",
                 'UNSUPPORTED error="unknown message type 20"',
                 r'OK record\{key="m" value="1"\} \?4=2006'])

    # v2 client, v1 server: falls back to v1, does not send SCAN; forced,
    # the v1 server reports the unknown type and keeps the connection.
    out = session(2, p1, ["put b 2", "scan", "get b"])
    expect(out, [r"connected: protocol v1 \(this client speaks 1\.\.2\)", "OK",
                 r"error: scan: not supported by this server \(protocol v1 negotiated\)",
                 r'OK record\{key="b" value="2"\}'])
    out = session(2, p1, ["scan", "get b"], "--force")
    expect(out, [r"connected: protocol v1 .*", 'UNSUPPORTED error="unknown message type 20"',
                 r'OK record\{key="b" value="2"\}'])

    # No overlap: the documented HELLO_ACK error, exit status 3.
    rc, out = client(2, p1, ["get b"], "--min", "2")
    assert rc == 3, f"expected exit 3, got {rc}: {out}"
    expect(out, [r"error: no common protocol version: this client speaks 2\.\.2, "
                 r"the server 1\.\.1"])


def preservation(p1, p2):
    # A v2 client stores a record with ttl_ms on a v1 server, which does not
    # know the field: the GET response carries the record byte for byte.
    out = session(2, p1, ["put kept v 60000", "get kept"], "--hex")
    sent = frames(out)[1]
    record = sent[8:-4].hex()  # the PUT payload is a Record
    got = payloads(out)[1]
    assert record.endswith("18e0d403"), record
    # RESPONSE: status (0800), then field 2 (tag 12), length, the record.
    assert got == "0800" + "12" + f"{len(record) // 2:02x}" + record, (got, record)
    # A v1 client sees the field as unknown, with the same bytes.
    expect(session(1, p1, ["get kept"]),
           ["connected: .*", r'OK record\{key="kept" value="v" \?3=18e0d403\}'])
    # A field neither version knows (9, say from a future v3) survives both
    # servers: 0a 01 66 (key "f") 12 01 76 (value "v") 4a 02 6869 (field 9).
    for port, version_field in ((p1, ""), (p2, r" version=\d+")):
        expect(session(2, port, ["raw 17 0a0166120176" + "4a026869", "get f"]),
               ["connected: .*", "OK.*",
                r'OK record\{key="f" value="v" \?9=4a026869\}' + version_field])


def errors(p2):
    # Malformed payloads are reported and skipped; the connection lives.
    out = session(2, p2, ["raw 16 0a8100", "raw 16 0a01610a0162", "raw 17 1201ff", "get k2"])
    expect(out, ["connected: .*", 'MALFORMED error="Get: .* at byte 1"',
                 'MALFORMED error="Get: .* at byte 3"', 'MALFORMED error="Record: .*"',
                 r'OK record\{key="k2" value="y"\} version=2'])

    # Size limits: the largest record that fits, one byte more, and a request
    # the client cannot even encode (over the 16 KiB payload limit).
    big = "b" * 16300  # PUT payload: 5 (key) + 3 (tag, length) + 16300 = 16308 bytes
    expect(one(2, p2, "put", "big", big), ["connected: .*", r"OK version=\d+"])
    expect(one(2, p2, "get", "big"), ["connected: .*",
                                      r'OK record\{key="big" value="b{16300}"\} version=\d+'])
    expect(one(1, p2, "put", "big", big + "b" * 13),
           ["connected: .*", 'MALFORMED error="record over 16320 bytes"'])
    expect(one(1, p2, "put", "big", "b" * 16384),
           ["connected: .*", "error: cannot encode the request: .*"])

    # A client that stays connected across the garbage below.
    keep = subprocess.Popen([CLIENT, "--protocol", "2", "-p", str(p2)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(cmd):
        keep.stdin.write(cmd + "\n")
        keep.stdin.flush()
        return keep.stdout.readline().strip()

    assert keep.stdout.readline().startswith("connected: protocol v2")
    assert ask("get k2").startswith('OK record{key="k2"')

    # Real frames to replay: a v1 HELLO and a v2 GET.
    v1 = frames(session(1, p2, ["get k2"], "--hex"))
    v2 = frames(session(2, p2, ["get k2"], "--hex"))
    hello_v1, get_v1, hello_v2, get_v2 = v1[0], v1[1], v2[0], v2[1]
    bad_sum = get_v2[:-1] + bytes([get_v2[-1] ^ 1])
    oversize = b"RV\x02\x10\x00\xff\xff\xff"  # a 16 MiB payload: over the limit
    closed_after(p2, b"GET / HTTP/1.0\r\n\r\n")          # bad magic
    closed_after(p2, get_v1)                              # no HELLO first
    closed_after(p2, hello_v2 + bad_sum, b"RV")           # checksum mismatch
    closed_after(p2, hello_v1 + get_v2, b"RV")            # version 2 on a v1 connection
    closed_after(p2, hello_v2 + oversize, b"RV")          # payload over the limit
    closed_after(p2, hello_v2 + b"\x00" * 8, b"RV")       # zeros: bad magic mid-stream
    # Garbage split into pieces arrives the same way.
    s = socket.create_connection(("127.0.0.1", p2), timeout=5)
    for piece in (hello_v2[:3], hello_v2[3:], b"R", b"X\x01\x10\x00\x00\x00\x00"):
        s.sendall(piece)
        time.sleep(0.01)
    assert s.recv(4096).startswith(b"RV")
    assert s.recv(4096) == b"", "expected EOF"
    s.close()

    assert ask("get k2").startswith('OK record{key="k2"'), "server stopped serving"
    keep.stdin.close()
    assert keep.wait(timeout=TIMEOUT) == 0
    return 7  # connections closed for a bad frame above


def stop(p):
    p.send_signal(signal.SIGTERM)
    rest = p.communicate(timeout=TIMEOUT)[1]
    assert p.returncode == 0, f"server exited {p.returncode}"
    assert "kv-server: bye" in rest
    return rest


def main():
    s1, p1 = start_server(1)
    try:
        s2, p2 = start_server(2)
        try:
            pairings(p1, p2)
            preservation(p1, p2)
            bad = errors(p2)
            log2 = stop(s2)
            assert log2.count("first frame is type") == 1, log2
            assert log2.count("bad frame") == bad - 1, log2
            assert "unknown message type 20 on a v1 connection: skipped" in log2
            for why in ("bad magic", "checksum mismatch", "frame version not accepted",
                        "payload longer than the limit"):
                assert why in log2, f"no {why!r} in the server log:\n{log2}"
        finally:
            if s2.poll() is None:
                s2.kill()
        log1 = stop(s1)
        assert "no common version, closing" in log1
        assert "unknown message type 20 on a v1 connection: skipped" in log1
    finally:
        if s1.poll() is None:
            s1.kill()
    print("protocol: all pairings, preservation and error cases passed")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Golden test for rivet's JSON-lines logger.

Usage: log-golden.py PROGRAM GOLDEN

Runs PROGRAM (log-golden.c), then
1. compares its stdout with the GOLDEN file byte for byte;
2. parses every line with Python's json module (strict: no NaN/Infinity
   literals, no control characters in strings) and checks what the values
   decode to, using Python's own UTF-8 decoder as the reference for text and
   Latin-1 for bytes.
"""
import datetime
import json
import math
import subprocess
import sys

# The raw inputs of log-golden.c, repeated here on purpose.
TEXTS = {
    "quotes": b'say "hi" \\ then / bye',
    "controls": b"nul\0 soh\x01 tab\t nl\n cr\r bs\b ff\f esc\x1b us\x1f del\x7f",
    "unicode": b"h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac \xf0\x9f\x98\x80 \xe6\x97\xa5\xe6\x9c\xac",
    "invalid": b"lone\x80 two\xbf\xbf overlong\xc0\xaf surrogate\xed\xa0\x80 big\xf4\x90\x80\x80"
               b" bad\xf5\xff cut\xe2\x82 end\xf0\x9f\x98",
}
LONG = "".join(chr(ord("a") + i % 26) for i in range(1500))
FLOATS = {"tenth": 0.1, "third": 1.0 / 3.0, "sum": 0.1 + 0.2, "negzero": -0.0, "big": 1e300,
          "tiny": 5e-324, "max": 1.7976931348623157e308, "whole": 3.0}


def strict_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def check_record(rec, raw_line):
    keys = list(rec)
    assert keys[:4] == ["time", "level", "service", "version"] or keys[:3] == [
        "time", "level", "service"], f"unexpected key order {keys}"
    assert rec["level"] in ("trace", "debug", "info", "warn", "error", "fatal")
    case = rec["case"]
    if case == "types":
        assert rec["str"] == "text" and rec["null"] is None and rec["int"] == -42
        assert rec["uint"] == 42 and rec["f64"] == 2.5 and rec["yes"] is True
        assert rec["no"] is False and rec["bytes"].encode("latin-1") == b"\x01\xfe"
        assert rec["strn"] == "a\0b"
    elif case == "integers":
        assert rec["min"] == -2**63 and rec["max"] == 2**63 - 1 and rec["umax"] == 2**64 - 1
    elif case == "floats":
        for k, v in FLOATS.items():
            assert isinstance(rec[k], float), f"{k} must parse as a float"
            assert rec[k] == v and math.copysign(1, rec[k]) == math.copysign(1, v), k
        assert rec["nan"] == "NaN" and rec["inf"] == "Infinity" and rec["ninf"] == "-Infinity"
    elif case in TEXTS:
        raw = TEXTS[case]
        assert rec["text"] == raw.decode("utf-8", "replace"), case
        assert rec["bytes"].encode("latin-1") == raw, case
        assert rec["msg"] == raw.split(b"\0")[0].decode("utf-8", "replace"), case
    elif case == "allbytes":
        assert rec["bytes"].encode("latin-1") == bytes(range(256))
    elif case == "long":
        assert rec["msg"] == LONG and len(raw_line) > 1024
    elif case == "truncated":
        assert rec["truncated"] is True and len(raw_line) <= 256
        assert LONG.startswith(rec["long"]) and "dropped" not in rec
    # Nothing but printable ASCII and valid UTF-8 in the raw line.
    raw_line.decode("utf-8")
    assert all(b >= 0x20 for b in raw_line[:-1]), "raw control byte in line"


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = subprocess.run([sys.argv[1]], check=True, capture_output=True).stdout
    with open(sys.argv[2], "rb") as f:
        golden = f.read()
    ok = True
    if out != golden:
        ok = False
        got, want = out.split(b"\n"), golden.split(b"\n")
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                print(f"line {i + 1} differs:\n got  {g!r}\n want {w!r}")
                break
        else:
            print(f"line count differs: got {len(got)}, want {len(want)}")
    prev = None
    cases = set()
    lines = out.split(b"\n")
    assert lines[-1] == b"", "output must end with a newline"
    for n, raw in enumerate(lines[:-1], 1):
        try:
            rec = json.loads(raw, parse_constant=strict_constant)
            cases.add(rec["case"])
            # RFC 3339 UTC with milliseconds; the clock steps 1.234567891 s.
            assert len(rec["time"]) == 24, rec["time"]
            t = datetime.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ")
            if prev is not None:
                step = (t - prev).total_seconds()
                assert 1.233 <= step <= 1.236, f"clock step {step}"
            prev = t
            check_record(rec, raw + b"\n")
        except (ValueError, AssertionError, KeyError) as e:
            print(f"line {n}: {type(e).__name__}: {e}\n  {raw!r}")
            ok = False
    want_cases = {"basic", "level", "types", "integers", "floats", "allbytes", "long",
                  "truncated"} | set(TEXTS)
    if cases != want_cases:
        print(f"cases seen {sorted(cases)}, want {sorted(want_cases)}")
        ok = False
    print(f"{len(lines) - 1} lines, {'all valid and as expected' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

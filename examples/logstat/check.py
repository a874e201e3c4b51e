#!/usr/bin/env python3
"""Golden tests for logstat (and genlog).

check.py LOGSTAT GENLOG GOLDEN_DIR
Set LOGSTAT_REGEN=1 to rewrite the golden files after a deliberate change.
"""
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

logstat, genlog, golden = (os.path.abspath(a) for a in sys.argv[1:4])
workdir = None
regen = os.environ.get("LOGSTAT_REGEN") == "1"
failures = []


def run(args, stdin=None, expect=0):
    # In the temporary directory, with relative names: reports name their input.
    p = subprocess.run([logstat] + args, stdin=stdin, capture_output=True, timeout=60, cwd=workdir)
    if p.returncode != expect:
        failures.append(f"logstat {args}: exit {p.returncode}, want {expect}: {p.stderr.decode()}")
    return p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def gold(name, got):
    path = os.path.join(golden, name)
    if regen:
        with open(path, "w") as f:
            f.write(got)
        return
    with open(path) as f:
        want = f.read()
    if got != want:
        failures.append(f"{name}: output differs from the golden file (LOGSTAT_REGEN=1 to update)")
        sys.stderr.write(got)


class Checker(HTMLParser):
    VOID = {"meta", "br", "circle", "rect", "line", "path", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.errors = [], {}, []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag not in self.VOID:
            self.stack.append(tag)
        for k, v in attrs:
            if k in ("src", "href") and v and "://" in v:
                self.errors.append(f"external resource {v}")

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


with tempfile.TemporaryDirectory() as tmp:
    workdir = tmp
    log = os.path.join(tmp, "a.log")
    rt = os.path.join(tmp, "rt.log")
    subprocess.run([genlog, "--lines", "20000", "--seed", "7", "--junk", "5", "-o", log], check=True)
    subprocess.run([genlog, "--lines", "5000", "--seed", "8", "--reqtime", "-o", rt], check=True)
    again = os.path.join(tmp, "b.log")
    subprocess.run([genlog, "--lines", "20000", "--seed", "7", "--junk", "5", "-o", again], check=True)
    if open(log, "rb").read() != open(again, "rb").read():
        failures.append("genlog is not deterministic")

    # Text and JSON reports, one thread and four: identical.
    t1, _ = run(["-j", "1", "a.log"])
    t4, _ = run(["-j", "4", "a.log"])
    if t1 != t4:
        failures.append("-j 1 and -j 4 reports differ")
    gold("a.txt", t1)
    j1, _ = run(["--json", "-j", "3", "a.log"])
    gold("a.json", j1)
    data = json.loads(j1)
    if data["lines"] != 20000 or data["malformed"]["total"] == 0:
        failures.append(f"json: lines {data['lines']} malformed {data['malformed']['total']}")
    if data["parsed"] + data["malformed"]["total"] != data["lines"]:
        failures.append("json: parsed + malformed != lines")
    # Example line numbers point at the lines they quote.
    lines = open(log, "rb").read().split(b"\n")
    for ex in data["malformed"]["examples"]:
        raw = lines[ex["line"] - 1][:20]
        shown = ex["text"][:20]
        if len(raw) == len(shown) and any(
                a != ord(b) and b != "." for a, b in zip(raw, shown)):
            failures.append(f"example line {ex['line']} does not match its text")

    # An independent count (a regular expression) agrees with logstat's.
    rx = re.compile(rb'^(\S+) - (\S+) \[([^\]]+)\] "([A-Z]+) ([^ ?"]+)(\?[^ "]*)? HTTP/1\.1" '
                    rb'(\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$')
    st, paths, nbytes = {}, {}, 0
    for raw in lines[:-1]:
        m = rx.match(raw)
        if not m:
            continue
        st[m.group(7).decode()] = st.get(m.group(7).decode(), 0) + 1
        paths[m.group(5)] = paths.get(m.group(5), 0) + 1
        nbytes += int(m.group(8)) if m.group(8) != b"-" else 0
    if st != data["status"] or nbytes != data["bytes_served"]:
        failures.append("status counts or bytes differ from an independent count")
    top = sorted(paths.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    if [(k.decode(), v) for k, v in top] != [(e["path"], e["count"]) for e in data["top_paths"]]:
        failures.append("top paths differ from an independent count")

    # Response times (format auto-detected with $request_time).
    trt, _ = run(["-j", "2", "rt.log"])
    gold("rt.txt", trt)
    if "p99" not in trt:
        failures.append("no percentiles for a log with $request_time")

    # Filters.
    f5, _ = run(["--json", "--status", "5xx", "--path-prefix", "/blog", "--since",
                 "2024-06-01T00:02", "--until", "2024-06-01T00:05", "a.log"])
    fd = json.loads(f5)
    gold("filtered.json", f5)
    if any(not s.startswith("5") for s in fd["status"]) or fd["requests"] == 0:
        failures.append(f"status filter: {fd['status']}")
    if any(not p["path"].startswith("/blog") for p in fd["top_paths"]):
        failures.append("path-prefix filter")
    if fd["time"] and (fd["time"]["first"] < 1717200120 or fd["time"]["last"] >= 1717200300):
        failures.append(f"time filter: {fd['time']}")

    # gzip input (zlib stream), stdin, stdin gzip: the same numbers.
    gz = log + ".gz"
    with open(log, "rb") as f, gzip.open(gz, "wb") as g:
        g.write(f.read())
    base = json.loads(j1)
    for name, args, stdin in (("gz", ["--json", gz], None),
                              ("stdin", ["--json", "-"], open(log, "rb")),
                              ("stdin-gz", ["--json"], open(gz, "rb"))):
        out, _ = run(args, stdin=stdin)
        d = json.loads(out)
        for k in ("lines", "parsed", "requests", "bytes_served", "status", "top_paths"):
            if d[k] != base[k]:
                failures.append(f"{name}: {k} differs from the plain file")

    # HTML: self-contained and well-formed, with the three charts.
    html = os.path.join(tmp, "r.html")
    run(["--html", html, "-j", "2", rt])
    c = Checker()
    c.feed(open(html).read())
    c.close()
    if c.errors or c.stack:
        failures.append(f"html: {c.errors[:3]} unclosed {c.stack}")
    if c.tags.get("svg", 0) < 4 or c.tags.get("script", 0) or c.tags.get("link", 0):
        failures.append(f"html: want >= 4 inline SVG charts and no external files: {c.tags}")

    # Bad input never crashes: binary junk, empty file, a directory, bad options.
    junk = os.path.join(tmp, "junk.log")
    with open(junk, "wb") as f:
        f.write(bytes(range(256)) * 50 + b"\n\x16\x03\x01\n" + b"x" * 200000 + b"\n")
    out, _ = run(["--json", junk])
    if json.loads(out)["malformed"]["total"] != json.loads(out)["lines"]:
        failures.append("junk: every line should be malformed")
    empty = os.path.join(tmp, "empty.log")
    open(empty, "wb").close()
    out, _ = run(["empty.log"])
    gold("empty.txt", out)
    run([tmp], expect=1)
    run([os.path.join(tmp, "missing.log")], expect=1)
    for bad in (["--status", "6x"], ["-j", "0"], ["--since", "yesterday"], ["--bogus"],
                ["--format", "$a$b", log], [log, log], ["--top"]):
        run(bad, expect=2)
    out, _ = run(["--help"])
    if "usage" not in out:
        failures.append("--help")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("logstat: all checks passed" + (" (golden files regenerated)" if regen else ""))

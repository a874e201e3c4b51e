#!/usr/bin/env python3
"""Run ctcheck briefly: the leaky compare must be reported as a leak (exit 1)
with a well-formed SVG holding both classes; rv_ct_eq must not be reported
as a leak (exit 0); bad usage must exit 2."""
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

exe = sys.argv[1]


def run(target, n, svg):
    r = subprocess.run([exe, "--target", target, "-n", str(n), "--seconds", "10",
                        "--svg", svg], capture_output=True, text=True)
    print(r.stdout, end="")
    return r


def check_svg(path):
    doc = xml.dom.minidom.parse(path)
    lines = doc.getElementsByTagName("polyline")
    if len(lines) != 2:
        sys.exit(f"{path}: expected 2 distributions, found {len(lines)}")


with tempfile.TemporaryDirectory() as tmp:
    leaky_svg = os.path.join(tmp, "leaky.svg")
    r = run("leaky", 20000, leaky_svg)
    if r.returncode != 1 or "verdict       leak" not in r.stdout:
        sys.exit(f"leaky compare not flagged: rc={r.returncode}\n{r.stdout}{r.stderr}")
    check_svg(leaky_svg)
    ct_svg = os.path.join(tmp, "ct.svg")
    r = run("ct", 200000, ct_svg)
    if r.returncode != 0 or "verdict       leak" in r.stdout:
        sys.exit(f"rv_ct_eq reported as leaking: rc={r.returncode}\n{r.stdout}{r.stderr}")
    check_svg(ct_svg)
for bad in (["--target", "nope"], ["--bogus", "1"], ["-n"]):
    r = subprocess.run([exe] + bad, capture_output=True, text=True)
    if r.returncode != 2 or "usage" not in r.stderr:
        sys.exit(f"{bad}: rc={r.returncode} stderr={r.stderr!r}")
print("ctcheck: ok")

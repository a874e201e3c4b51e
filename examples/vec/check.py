#!/usr/bin/env python3
"""Run wordfreq on a known text and compare with the expected report; also
the error paths (missing file, usage) and a large input against Python's
own count."""
import collections
import re
import subprocess
import sys
import tempfile

exe = sys.argv[1]
text = b"The cat saw the dog. The DOG saw a cat; a cat ran!\nIt's the end.\n"
out = subprocess.run([exe, "-n", "3"], input=text, capture_output=True, check=True).stdout.decode()
want_head = "16 words, 8 distinct ("
want_rows = ["      4  the", "      3  cat", "      2  a"]
lines = out.splitlines()
if not lines or not lines[0].startswith(want_head) or lines[1:] != want_rows:
    sys.exit(f"unexpected output:\n{out}")

# A larger input (many arena chunks, many inserts) against Python's count.
words = [f"wordfrequency{(i * 7919) % 5000}" for i in range(60000)]
big = (" ".join(words) + "\n").encode()
out = subprocess.run([exe, "-n", "5"], input=big, capture_output=True, check=True).stdout.decode()
counts = collections.Counter(words)
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
lines = out.splitlines()
if not lines[0].startswith(f"60000 words, {len(counts)} distinct"):
    sys.exit(f"big input: {lines[0]}")
if lines[1:] != [f"{n:7d}  {w}" for w, n in top]:
    sys.exit(f"big input rows:\n{out}")
if not re.search(r"in [2-9]\d* arena chunks\)", lines[0]):
    sys.exit(f"big input should span several arena chunks: {lines[0]}")

with tempfile.NamedTemporaryFile() as f:
    f.write(b"solo\n")
    f.flush()
    out = subprocess.run([exe, f.name], capture_output=True, check=True).stdout.decode()
    if out.splitlines()[1:] != ["      1  solo"]:
        sys.exit(f"file input: {out}")
r = subprocess.run([exe], input=b"", capture_output=True, check=True)
if not r.stdout.startswith(b"0 words, 0 distinct"):
    sys.exit(f"empty input: {r.stdout!r}")
r = subprocess.run([exe, "/nonexistent/file"], capture_output=True)
if r.returncode != 1 or b"No such file" not in r.stderr:
    sys.exit(f"missing file: rc={r.returncode} stderr={r.stderr!r}")
for bad in (["-n", "x"], ["-n", "-1"], ["a", "b"], ["-z"]):
    r = subprocess.run([exe] + bad, capture_output=True)
    if r.returncode != 2 or b"usage" not in r.stderr:
        sys.exit(f"usage error {bad}: rc={r.returncode}")
print("wordfreq: ok")

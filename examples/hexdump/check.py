#!/usr/bin/env python3
"""Run hexdump on known input and compare with the expected dump; also the
error paths (missing file, usage)."""
import subprocess
import sys
import tempfile

exe = sys.argv[1]
data = bytes(range(20)) + b"rivet!"
out = subprocess.run([exe], input=data, capture_output=True, check=True).stdout.decode()
want = (
    "00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|\n"
    "00000010  10 11 12 13 72 69 76 65  74 21                    |....rivet!|\n"
    "0000001a\n"
)
if out != want:
    sys.exit(f"unexpected output:\n{out}\nwanted:\n{want}")
r = subprocess.run([exe, "/nonexistent/file"], capture_output=True)
if r.returncode != 1 or b"No such file" not in r.stderr:
    sys.exit(f"missing file: rc={r.returncode} stderr={r.stderr!r}")
r = subprocess.run([exe, "a", "b"], capture_output=True)
if r.returncode != 2 or b"usage" not in r.stderr:
    sys.exit(f"usage error: rc={r.returncode}")
with tempfile.NamedTemporaryFile() as f:
    r = subprocess.run([exe, f.name], capture_output=True, check=True)
    if r.stdout != b"00000000\n":
        sys.exit(f"empty file: {r.stdout!r}")
print("hexdump: ok")

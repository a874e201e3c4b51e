#!/usr/bin/env python3
"""Compare a shared library's exported symbols with the checked-in list.

Usage: symbols-check.py NM LIBRARY.so SYMDIR

SYMDIR holds one file per module (err.sym, alloc.sym, ...), one symbol per
line, '#' comments allowed. A symbol exported but not listed means an export
nobody reviewed; a symbol listed but not exported means an ABI break (a
removed or renamed function), which needs a major version bump. Either way
the test fails and says which.
"""
import pathlib
import subprocess
import sys


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    nm, lib, symdir = sys.argv[1:]
    out = subprocess.run([nm, "-D", "--defined-only", "--extern-only", lib],
                         check=True, capture_output=True, text=True).stdout
    exported = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "TDBRVWiu":
            name = parts[2].split("@")[0]
            # Linker-provided markers are not ours, nor are the ODR
            # indicators AddressSanitizer adds for exported globals.
            if name.startswith("__odr_asan"):
                continue
            if name not in ("_init", "_fini", "_edata", "_end", "__bss_start"):
                exported.add(name)
    expected = set()
    for f in sorted(pathlib.Path(symdir).glob("*.sym")):
        for line in f.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                expected.add(line)
    extra = sorted(exported - expected)
    missing = sorted(expected - exported)
    for s in extra:
        print(f"exported but not listed in {symdir}: {s}")
    for s in missing:
        print(f"listed but not exported (ABI break?): {s}")
    if extra or missing:
        return 1
    print(f"{len(exported)} exported symbols match {symdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Prove that freestanding modules need nothing from libc but mem*.

Usage: freestanding-check.py NM -- CC [CFLAGS...] -- SRC...

Each SRC is compiled on its own with -ffreestanding -nostdlib (plus the given
CFLAGS, typically include directories), then every undefined symbol of the
object must be one of memcpy/memmove/memset/memcmp or a rivet symbol (rv_*)
defined by another of the checked objects. Anything else (malloc, printf,
__stack_chk_fail, ...) fails the test with the module and symbol named.
"""
import os
import subprocess
import sys
import tempfile

ALLOWED = {"memcpy", "memmove", "memset", "memcmp"}
FLAGS = ["-std=c11", "-ffreestanding", "-nostdlib", "-fno-stack-protector",
         "-fno-builtin-malloc", "-O2", "-Wall", "-Wextra", "-Werror", "-c"]


def main() -> int:
    argv = sys.argv[1:]
    try:
        nm = argv[0]
        sep1 = argv.index("--")
        sep2 = argv.index("--", sep1 + 1)
    except (IndexError, ValueError):
        print(__doc__, file=sys.stderr)
        return 2
    cc = argv[sep1 + 1:sep2]
    srcs = argv[sep2 + 1:]
    undefined = {}
    defined = set()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for i, src in enumerate(srcs):
            obj = os.path.join(tmp, f"{i}.o")
            r = subprocess.run(cc + FLAGS + [src, "-o", obj], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{src}: does not compile freestanding:\n{r.stderr}")
                ok = False
                continue
            out = subprocess.run([nm, obj], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "U":
                    undefined.setdefault(src, set()).add(parts[1])
                elif len(parts) == 3 and parts[1] in "TDBR":
                    defined.add(parts[2])
    for src, syms in sorted(undefined.items()):
        for s in sorted(syms):
            if s in ALLOWED or (s.startswith("rv_") and s in defined):
                continue
            print(f"{src}: references {s}, which a freestanding build does not have")
            ok = False
    if ok:
        print(f"{len(srcs)} freestanding sources reference only mem* and each other")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

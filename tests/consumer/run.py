#!/usr/bin/env python3
"""Consumer tests: build a tiny program against rivet the two ways users do.

  run.py installed BUILDDIR CC   make install DESTDIR=tmp, then build app.c with
                                 pkg-config, shared and --static, and run both
  run.py vendored SRCROOT        a meson project with rivet in subprojects/
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def installed(build, cc):
    with tempfile.TemporaryDirectory() as dest:
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
        pcs = list(pathlib.Path(dest).rglob("rivet-core.pc"))
        if not pcs:
            sys.exit("rivet-core.pc was not installed")
        env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=dest)
        flags = run(["pkg-config", "--cflags", "--libs", "rivet-core"], env=env).split()
        libdir = next(f[2:] for f in flags if f.startswith("-L"))
        shared = os.path.join(dest, "app-shared")
        run([cc, str(HERE / "app" / "app.c"), "-o", shared] + flags)
        out = run([shared], env=dict(os.environ, LD_LIBRARY_PATH=libdir))
        print("shared:", out.strip())
        sflags = run(["pkg-config", "--static", "--cflags", "--libs", "rivet-core"], env=env).split()
        static = os.path.join(dest, "app-static")
        run([cc, "-static", str(HERE / "app" / "app.c"), "-o", static] + sflags)
        if "statically linked" not in run(["file", static]):
            sys.exit("the --static app is not statically linked")
        out = run([static])
        print("static:", out.strip())
        for h in ["rivet/core.h", "rivet/core/version.h", "rivet/core/err.h"]:
            if not list(pathlib.Path(dest).rglob(h)):
                sys.exit(f"header {h} was not installed")


def vendored(srcroot):
    with tempfile.TemporaryDirectory() as tmp:
        proj = pathlib.Path(tmp) / "consumer"
        shutil.copytree(HERE / "vendored", proj)
        shutil.copytree(HERE / "app", proj.parent / "app")
        (proj / "subprojects").mkdir()
        os.symlink(os.path.abspath(srcroot), proj / "subprojects" / "rivet")
        run(["meson", "setup", str(proj / "build"), str(proj)])
        run(["meson", "compile", "-C", str(proj / "build")])
        out = run([str(proj / "build" / "app")])
        print("vendored:", out.strip())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "installed":
        installed(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "vendored":
        vendored(sys.argv[2])
    else:
        sys.exit(__doc__)

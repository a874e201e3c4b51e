#!/usr/bin/env python3
"""Consumer tests: build programs against rivet the two ways users do.

  run.py installed BUILDDIR CC   meson install into a temporary DESTDIR, then
                                 for every installed rivet-LIB.pc build a
                                 program with pkg-config, shared and --static
                                 (fully static), and run both
  run.py vendored SRCROOT        a meson project with rivet in subprojects/
                                 that asks for every library with
                                 dependency('rivet-LIB')

Besides app/app.c (a real use of rivet-core), each library gets a generated
program that includes its umbrella header and checks that the header and the
library agree on the version.
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def version_check_source(lib):
    up = lib.upper()
    return (f"#include <stdio.h>\n#include <rivet/{lib}.h>\n"
            f"int main(void) {{\n"
            f"  if (rv_{lib}_version() != RV_{up}_VERSION_NUMBER) return 1;\n"
            f"  printf(\"rivet-{lib} %s\\n\", rv_{lib}_version_string());\n"
            f"  return 0;\n}}\n")


def programs(tmp, libs):
    """(name, source path, pkg-config name) for every program to build."""
    out = [("app", HERE / "app" / "app.c", "rivet-core")]
    for lib in libs:
        src = pathlib.Path(tmp) / f"check-{lib}.c"
        src.write_text(version_check_source(lib))
        out.append((f"check-{lib}", src, f"rivet-{lib}"))
    return out


def installed(build, cc):
    with tempfile.TemporaryDirectory() as dest:
        run(["meson", "install", "-C", build, "--no-rebuild", "--quiet", "--destdir", dest])
        pcs = sorted(pathlib.Path(dest).rglob("rivet-*.pc"))
        if not pcs:
            sys.exit("no rivet-*.pc was installed")
        libs = [p.stem[len("rivet-"):] for p in pcs]
        env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=dest)
        for name, src, pc in programs(dest, libs):
            flags = run(["pkg-config", "--cflags", "--libs", pc], env=env).split()
            libdir = next(f[2:] for f in flags if f.startswith("-L"))
            exe = os.path.join(dest, name + "-shared")
            run([cc, src, "-o", exe] + flags)
            print("shared:", run([exe], env=dict(os.environ, LD_LIBRARY_PATH=libdir)).strip())
            sflags = run(["pkg-config", "--static", "--cflags", "--libs", pc], env=env).split()
            exe = os.path.join(dest, name + "-static")
            run([cc, "-static", src, "-o", exe] + sflags)
            if "statically linked" not in run(["file", exe]):
                sys.exit(f"{name}: the --static program is not statically linked")
            print("static:", run([exe]).strip())
        for lib in libs:
            if not list(pathlib.Path(dest).rglob(f"rivet/{lib}.h")):
                sys.exit(f"header rivet/{lib}.h was not installed")


def vendored(srcroot):
    libs = sorted(p.parent.name[3:] for p in pathlib.Path(srcroot).glob("lib*/meson.build"))
    with tempfile.TemporaryDirectory() as tmp:
        proj = pathlib.Path(tmp) / "consumer"
        proj.mkdir()
        (proj / "subprojects").mkdir()
        os.symlink(os.path.abspath(srcroot), proj / "subprojects" / "rivet")
        lines = [(HERE / "vendored" / "meson.build").read_text()]
        for name, src, pc in programs(proj, libs)[1:]:
            lines.append(f"test('{name}', executable('{name}', '{src.name}', "
                         f"dependencies: dependency('{pc}')))\n")
        (proj / "meson.build").write_text("".join(lines))
        shutil.copy(HERE / "app" / "app.c", proj / "app.c")
        run(["meson", "setup", proj / "build", proj])
        run(["meson", "compile", "-C", proj / "build"])
        for name, _, _ in programs(proj, libs):
            print("vendored:", run([proj / "build" / name]).strip())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "installed":
        installed(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "vendored":
        vendored(sys.argv[2])
    else:
        sys.exit(__doc__)

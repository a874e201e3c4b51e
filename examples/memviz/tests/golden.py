#!/usr/bin/env python3
"""memviz golden tests: run every scripts/NAME.rv and compare with the
checked-in NAME.expected (text output: stdout, then stderr, then the exit
code) and, for scripts that run, NAME.json (the --json output). A script's
first line may hold `# memviz-args: ...` extra arguments.

Also checks --html: the page embeds valid JSON holding every step, and has
no external references. With --update, rewrites the golden files instead.

Usage: golden.py MEMVIZ SCRIPTS_DIR [--update]
"""
import json
import pathlib
import re
import subprocess
import sys
import tempfile

exe, root = str(pathlib.Path(sys.argv[1]).resolve()), pathlib.Path(sys.argv[2]).resolve()
update = "--update" in sys.argv
failures = []


def run(args):
    r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def compare(path, got):
    if update:
        path.write_text(got)
        return
    want = path.read_text() if path.exists() else None
    if got != want:
        failures.append(f"{path.name}: output differs from the golden file")
        sys.stderr.write(f"--- {path.name} expected\n{want}\n--- got\n{got}\n")


scripts = sorted(root.glob("*.rv"))
if len(scripts) < 12:
    failures.append(f"only {len(scripts)} example scripts")
for script in scripts:
    first = script.read_text().splitlines()[:1]
    m = re.match(r"#\s*memviz-args:\s*(.*)", first[0]) if first else None
    extra = m.group(1).split() if m else []
    rel = str(script.relative_to(root.parent))
    r = subprocess.run([exe, "--no-color", *extra, rel], capture_output=True, text=True,
                       timeout=60, cwd=root.parent)
    compare(script.with_suffix(".expected"),
            r.stdout + "--- stderr\n" + r.stderr + f"--- exit {r.returncode}\n")
    if r.returncode == 0:
        j = subprocess.run([exe, "--json", *extra, rel], capture_output=True, text=True,
                           timeout=60, cwd=root.parent)
        steps = [json.loads(line) for line in j.stdout.splitlines()]
        if j.returncode != 0 or not steps or steps[-1]["label"] != "exit":
            failures.append(f"{script.name}: --json run failed")
        if [s["step"] for s in steps] != list(range(1, len(steps) + 1)):
            failures.append(f"{script.name}: --json steps not numbered 1..n")
        compare(script.with_suffix(".json"), j.stdout)
        with tempfile.TemporaryDirectory() as d:
            page = pathlib.Path(d) / "out.html"
            h = subprocess.run([exe, *extra, "--html", str(page), rel], capture_output=True,
                               text=True, timeout=60, cwd=root.parent)
            html = page.read_text() if page.exists() else ""
            m = re.search(r"const STEPS=(\[.*?\]);\n</script>", html, re.S)
            if h.returncode != 0 or not m:
                failures.append(f"{script.name}: --html wrote no step data")
                continue
            if json.loads(m.group(1)) != steps:
                failures.append(f"{script.name}: --html steps differ from --json")
            if re.search(r"(src|href)=\"(https?:)?//", html) or "<link" in html:
                failures.append(f"{script.name}: --html page has an external reference")
    elif r.returncode not in (1, 2) or "error[" not in r.stderr:
        failures.append(f"{script.name}: rejected without a diagnostic (exit {r.returncode})")

# Usage errors exit 2.
for args in ([], ["--bogus", "x.rv"], ["a.rv", "b.rv"], ["--json", "--html", "x", "y.rv"],
             ["/nonexistent.rv"]):
    code, _, err = run(args)
    if code != 2 or "memviz:" not in err:
        failures.append(f"usage {args}: exit {code}")

if failures:
    sys.exit("\n".join(failures))
print(f"memviz golden: {len(scripts)} scripts ok")

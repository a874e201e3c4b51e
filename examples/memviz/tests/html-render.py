#!/usr/bin/env python3
"""Render memviz --html output in headless Chromium and check the page the
browser built: the slider's label shows the step asked for, and the stack
and heap boxes and the arrows exist. Skipped (exit 77) when no Chromium is
installed (`apt-get install chromium`); golden.py checks the page's
structure everywhere.

Usage: html-render.py MEMVIZ SCRIPT
"""
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

exe, script = sys.argv[1], sys.argv[2]
browser = next((b for b in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(b)), None)
if not browser:
    print("no chromium: skipped")
    sys.exit(77)
with tempfile.TemporaryDirectory() as d:
    page = pathlib.Path(d) / "page.html"
    subprocess.run([exe, "--html", str(page), script], check=True, capture_output=True)
    # The network flags keep Chromium from reaching out (this machine has no
    # network; without them it retries lookups at every start).
    r = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-quic",
                        f"--user-data-dir={d}/profile", "--window-size=1200,900",
                        "--dump-dom", page.as_uri() + "?step=4"],
                       capture_output=True, text=True, timeout=120)
    dom = r.stdout
problems = []
if not re.search(r'<span id="label">step 4/\d+', dom):
    problems.append("the step label was not rendered")
if dom.count('class="var') < 2 or 'class="blk"' not in dom:
    problems.append("no stack or heap boxes")
if "<path d=\"M" not in dom:
    problems.append("no arrows")
if problems:
    sys.exit("; ".join(problems) + f"\n(browser exit {r.returncode}, {len(dom)} bytes of DOM)")
print(f"{browser} rendered the page: ok")

#!/usr/bin/env python3
"""Sum meson's test results: prints 'N passed, N failed' from testlog.json files.

Usage: testcount.py BUILDDIR... ; exits 1 if any test failed (or none ran).
Skipped tests are counted apart; an expected failure counts as passed.
"""
import json
import pathlib
import sys

passed = failed = skipped = 0
for d in sys.argv[1:]:
    log = pathlib.Path(d) / "meson-logs" / "testlog.json"
    if not log.exists():
        continue
    for line in log.read_text().splitlines():
        if not line.strip():
            continue
        r = json.loads(line).get("result", "")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)

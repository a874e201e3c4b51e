#!/usr/bin/env python3
"""Run one libFuzzer harness: replay its corpus, then fuzz for a while.

Usage: fuzz-run.py HARNESS CORPUS_DIR N_HARNESSES
Time per harness: $FUZZ_SECONDS if set; otherwise a total budget (30 s when
CI=true, 10 s otherwise) split between the N harnesses. New inputs go to a
temporary copy, never into the checked-in corpus; a crash fails the test and
leaves the reproducer in the build directory's fuzz-artifacts/ (add it to
the corpus as a regression input once fixed).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

exe, corpus, count = sys.argv[1], pathlib.Path(sys.argv[2]), int(sys.argv[3])
if "FUZZ_SECONDS" in os.environ:
    seconds = max(1, int(os.environ["FUZZ_SECONDS"]))
else:
    budget = 30 if os.environ.get("CI") == "true" else 10
    seconds = max(1, budget // max(1, count))
artifacts = pathlib.Path(exe).resolve().parent / "fuzz-artifacts"
artifacts.mkdir(exist_ok=True)
common = [f"-artifact_prefix={artifacts}/", "-timeout=10", "-rss_limit_mb=2048",
          "-max_len=4096", "-print_final_stats=1"]
with tempfile.TemporaryDirectory() as work:
    shutil.copytree(corpus, work, dirs_exist_ok=True)
    print(f"{exe}: replaying {len(list(corpus.iterdir()))} corpus inputs", flush=True)
    r = subprocess.run([exe, *common, "-runs=0", work])
    if r.returncode != 0:
        sys.exit(f"{exe}: a corpus input fails (exit {r.returncode})")
    print(f"{exe}: fuzzing for {seconds} s", flush=True)
    r = subprocess.run([exe, *common, f"-max_total_time={seconds}", work],
                       timeout=seconds + 120)
    if r.returncode != 0:
        sys.exit(f"{exe}: crash found (exit {r.returncode}); reproducer in {artifacts}")
print(f"{exe}: ok")

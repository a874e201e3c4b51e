#!/usr/bin/env bash
# make demo: run rivet's showcase programs on their embedded defaults.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "hexdump: rivet-core bytes and buffers (examples/hexdump)"
printf 'rivet: independent C11 libraries\n\x00\x01\x02' | "$build/examples/hexdump/hexdump"

say "ctcheck: is a compare constant time? (rivet-sec timing, examples/ctcheck)"
"$build/examples/ctcheck/ctcheck" --target leaky -n 20000 --svg "$build/ctcheck-leaky.svg" || true
"$build/examples/ctcheck/ctcheck" --target ct -n 200000 --svg "$build/ctcheck-ct.svg"
say "wordfreq: rivet-core arena + vec (examples/vec)"
printf 'The cat saw the dog. The DOG saw a cat; a cat ran!\nIt is the end.\n' | "$build/examples/vec/wordfreq" -n 5

say "logstat: access-log report on a generated log (rivet-perf scan/mapfile/logparse, examples/logstat)"
"$build/examples/logstat/genlog" --lines 50000 --reqtime --seed 3 -o "$build/demo-access.log"
"$build/examples/logstat/logstat" --top 5 --html "$build/demo-access.html" "$build/demo-access.log"
echo "(HTML report with charts: $build/demo-access.html)"

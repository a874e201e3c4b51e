#!/usr/bin/env bash
# make demo: run rivet's showcase programs on their embedded defaults.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "hexdump: rivet-core bytes and buffers (examples/hexdump)"
printf 'rivet: independent C11 libraries\n\x00\x01\x02' | "$build/examples/hexdump/hexdump"

say "pool: producers and consumers sharing a fixed-size block pool (examples/pool)"
"$build/examples/pool/pool" 100000

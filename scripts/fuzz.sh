#!/usr/bin/env bash
# make fuzz: run every libFuzzer harness of a -Dfuzzing=true build for a while.
# Usage: scripts/fuzz.sh BUILDDIR [SECONDS]   (SECONDS per harness, default 60)
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
cd "$(dirname "$0")/.."
if ! grep -q "fuzzing=true\|'fuzzing', 'true'" "$build/meson-info/intro-buildoptions.json" 2>/dev/null &&
  ! python3 -c "import json,sys; o={x['name']:x['value'] for x in json.load(open('$build/meson-info/intro-buildoptions.json'))}; sys.exit(0 if o.get('fuzzing') else 1)"; then
  echo "fuzz.sh: $build is not a -Dfuzzing=true build (CC=clang meson setup $build -Dfuzzing=true)" >&2
  exit 2
fi
n=$(meson test -C "$build" --list --suite fuzz 2>/dev/null | grep -c . || true)
echo "fuzz.sh: $n harness(es), $seconds s each"
FUZZ_SECONDS=$seconds meson test -C "$build" --suite fuzz --print-errorlogs \
  --timeout-multiplier 0 --verbose

#!/usr/bin/env bash
# make demo: run rivet's showcase programs on their embedded defaults.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "hexdump: rivet-core bytes and buffers (examples/hexdump)"
printf 'rivet: independent C11 libraries\n\x00\x01\x02' | "$build/examples/hexdump/hexdump"

say "sensor-fw: RV-ENV1 driver on a Cortex-M3 under QEMU (examples/sensor-fw)"
if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null; then
  python3 examples/sensor-fw/run-fw.py --src examples/sensor-fw \
    --build "$build/examples/sensor-fw/build-arm" --demo
else
  echo "(skipped: needs gcc-arm-none-eabi and qemu-system-arm; make deps installs them)"
fi

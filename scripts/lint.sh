#!/usr/bin/env bash
# make lint: clang-format, clang-tidy and cppcheck over rivet's sources.
# Usage: scripts/lint.sh BUILDDIR   (BUILDDIR holds compile_commands.json)
set -uo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
status=0

mapfile -t sources < <(git ls-files '*.c' '*.h' ':!:subprojects/**')
mapfile -t csources < <(git ls-files '*.c' ':!:subprojects/**' ':!:tests/consumer/**' ':!:**/fuzz/**' ':!:examples/sensor-fw/fw/**')
# Cortex-M firmware: not in the host build's compile_commands.json; checked
# below with the target's flags instead.
mapfile -t fwsources < <(git ls-files 'examples/sensor-fw/fw/*.c')

echo "lint: clang-format on ${#sources[@]} files"
clang-format --dry-run -Werror "${sources[@]}" || status=1

echo "lint: clang-tidy on ${#csources[@]} files"
printf '%s\n' "${csources[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null >"$build/clang-tidy.log"
if [ ${#fwsources[@]} -gt 0 ]; then
  clang-tidy --quiet "${fwsources[@]}" -- --target=thumbv7m-none-eabi -mcpu=cortex-m3 \
    -std=c11 -ffreestanding -Ilibcore/include -Ilibiot/include 2>/dev/null >>"$build/clang-tidy.log"
fi
if grep -qE '(warning|error):' "$build/clang-tidy.log"; then
  grep -E -A3 '(warning|error):' "$build/clang-tidy.log"
  status=1
fi

echo "lint: cppcheck"
cppcheck --project="$build/compile_commands.json" --quiet --error-exitcode=1 \
  --enable=warning,performance,portability --inline-suppr \
  --suppress=missingIncludeSystem --suppress='*:/usr/*' \
  -i"$build" --suppress="*:$PWD/$build/*" --suppress="*:$build/*" -j "$(nproc)" || status=1

[ $status -eq 0 ] && echo "lint: 0 findings"
exit $status

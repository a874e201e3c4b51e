#!/usr/bin/env bash
# Install the Debian 12 packages rivet's build, tests, docs and benchmarks
# need. Idempotent and quick when everything is present: it asks dpkg first
# and runs apt-get only for what is missing.
set -euo pipefail

packages=(
  # build
  meson ninja-build gcc g++ clang lld llvm pkg-config python3 binutils file
  # codec benchmark baselines (protobuf-c, nanopb)
  libprotobuf-c-dev protobuf-c-compiler nanopb libnanopb-dev
  # libraries rivet links
  libxxhash-dev libsodium-dev libjansson-dev zlib1g-dev
  # examples/api-server: SQLite (and its shell for inspecting a database)
  libsqlite3-dev sqlite3
  # api-server benchmark: wrk drives it and nginx 1.22, the baseline
  wrk nginx-light
  # logstat benchmark baselines
  mawk goaccess
  # tests
  libcmocka-dev libclang-rt-14-dev valgrind
  # libnet http-server end-to-end test
  curl
  # libnet server benchmark baselines; nc for the chat example session
  libuv1-dev libevent-dev netcat-openbsd
  # benchmarks: the allocators and queues users would otherwise pick
  libjemalloc-dev libmimalloc-dev libck-dev libglib2.0-dev
  # headless browser for the HTML report tests (memviz --html, logstat --html)
  chromium
  # docs and lint
  doxygen clang-format clang-tidy cppcheck
  # libiot firmware (examples/sensor-fw): Cortex-M cross toolchain and QEMU
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# Installing must not start daemons (nginx would take port 80; the
# benchmarks start their own on 127.0.0.1): Debian's hook for that is
# policy-rc.d, installed for the duration when the machine has none.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

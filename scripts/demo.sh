#!/usr/bin/env bash
# make demo: run rivet's showcase programs on their embedded defaults.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "memviz: ownership visualizer (examples/memviz): a valid script, step by step"
"$build/examples/memviz/memviz" examples/memviz/scripts/functions.rv

say "memviz: a script that breaks the rules is rejected (exit 1), with fixes that copy nothing"
"$build/examples/memviz/memviz" examples/memviz/scripts/several.rv || echo "(memviz exited with $?)"
"$build/examples/memviz/memviz" --html "$build/memviz-rc.html" examples/memviz/scripts/rc.rv
say "protocol: a key-value service in protocol v1 and v2, all four pairings (examples/protocol)"
kv="$build/examples/protocol"
kv_pids=()
trap 'for p in "${kv_pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
kv_start() { # VERSION LOG: start a server on a free port, set kv_port
  "$kv/kv-server" --protocol "$1" -p 0 -q 2>"$2" &
  kv_pids+=($!)
  kv_port=
  for _ in $(seq 200); do
    kv_port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$2")
    [ -n "$kv_port" ] && return 0
    sleep 0.05
  done
  echo "kv-server did not start" >&2
  return 1
}
kv_start 1 "$build/kv-v1.log"
v1port=$kv_port
kv_start 2 "$build/kv-v2.log"
v2port=$kv_port
for s in 1 2; do
  port=$v1port
  [ $s = 2 ] && port=$v2port
  echo "-- v2 client, v$s server"
  printf 'put greeting hello 60000\nget greeting\nscan g\n' | "$kv/kv-client" --protocol 2 -p "$port"
  echo "-- v1 client, v$s server"
  printf 'put plain text\nget plain\nget greeting\n' | "$kv/kv-client" --protocol 1 -p "$port"
done
echo "-- v2 client that needs v2, v1 server"
"$kv/kv-client" --protocol 2 --min 2 -p "$v1port" get greeting || echo "(kv-client exited with $?)"
for p in "${kv_pids[@]}"; do kill "$p"; wait "$p" || true; done
kv_pids=()

say "chat: a line-protocol chat server on the libnet server (examples/chat)"
chat_log=$(mktemp)
"$build/examples/chat/chat" -p 0 2>"$chat_log" &
chat_pid=$!
for _ in $(seq 50); do grep -q listening "$chat_log" && break; sleep 0.1; done
chat_port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$chat_log" | head -1)
exec 3<>"/dev/tcp/127.0.0.1/$chat_port" 4<>"/dev/tcp/127.0.0.1/$chat_port"
printf 'NICK alice\nJOIN lobby\n' >&3; sleep 0.2
printf 'NICK bob\nJOIN lobby\n' >&4; sleep 0.2
printf 'MSG hi bob\n' >&3; sleep 0.2
printf 'MSG hello alice\nQUIT\n' >&4; sleep 0.2
printf 'QUIT\n' >&3; sleep 0.2
echo "-- what alice saw:"; timeout 2 cat <&3 || true
echo "-- what bob saw:"; timeout 2 cat <&4 || true
exec 3<&- 4<&-
kill -TERM "$chat_pid"; wait "$chat_pid" || true
rm -f "$chat_log"
say "sensor-fw: RV-ENV1 driver on a Cortex-M3 under QEMU (examples/sensor-fw)"
if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null; then
  python3 examples/sensor-fw/run-fw.py --src examples/sensor-fw \
    --build "$build/examples/sensor-fw/build-arm" --demo
else
  echo "(skipped: needs gcc-arm-none-eabi and qemu-system-arm; make deps installs them)"
fi

say "keystore: sealed key store CLI (rivet-sec keystore, examples/keystore)"
ks="$build/examples/keystore/keystore"
kdir=$(mktemp -d)
pf() { printf 'demo passphrase\n'; }
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 init 3< <(pf)
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 gen release-signing ed25519 3< <(pf)
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 gen backup-key sym 3< <(pf)
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 list 3< <(pf)
echo 'firmware 1.0' >"$kdir/fw.bin"
sig=$("$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 sign release-signing "$kdir/fw.bin" 3< <(pf))
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 verify release-signing "$sig" "$kdir/fw.bin" 3< <(pf)
"$ks" -f "$kdir/keys.rvks" --passphrase-fd 3 list 3< <(echo wrong) || true
rm -rf "$kdir"
say "logstat: access-log report on a generated log (rivet-perf scan/mapfile/logparse, examples/logstat)"
"$build/examples/logstat/genlog" --lines 50000 --reqtime --seed 3 -o "$build/demo-access.log"
"$build/examples/logstat/logstat" --top 5 --html "$build/demo-access.html" "$build/demo-access.log"
echo "(HTML report with charts: $build/demo-access.html)"

say "ctcheck: is a compare constant time? (rivet-sec timing, examples/ctcheck)"
"$build/examples/ctcheck/ctcheck" --target leaky -n 20000 --svg "$build/ctcheck-leaky.svg" || true
"$build/examples/ctcheck/ctcheck" --target ct -n 200000 --svg "$build/ctcheck-ct.svg"
say "wordfreq: rivet-core arena + vec (examples/vec)"
printf 'The cat saw the dog. The DOG saw a cat; a cat ran!\nIt is the end.\n' | "$build/examples/vec/wordfreq" -n 5
say "pool: producers and consumers sharing a fixed-size block pool (examples/pool)"
"$build/examples/pool/pool" 100000

say "hexdump: rivet-core bytes and buffers (examples/hexdump)"
printf 'rivet: independent C11 libraries\n\x00\x01\x02' | "$build/examples/hexdump/hexdump"

say "api-server: device registry API with JWT, rate limits, tracing, metrics, SQLite (examples/api-server)"
api="$(cd "$build" && pwd)/examples/api-server/api-server"
adir=$(mktemp -d)
export API_SERVER_PASSPHRASE="demo passphrase"
(
  cd "$adir"
  "$api" keygen
  tok=$("$api" token --sub demo --scope admin --ttl 10m)
  "$api" serve --listen-port 0 2>server.log &
  api_pid=$!
  trap 'kill "$api_pid" 2>/dev/null || true' EXIT
  api_port=
  for _ in $(seq 100); do
    api_port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' server.log)
    [ -n "$api_port" ] && break
    sleep 0.1
  done
  [ -n "$api_port" ] || { echo "api-server did not start:"; cat server.log; exit 1; }
  u="http://127.0.0.1:$api_port"
  auth=(-H "Authorization: Bearer $tok")
  j=(-H 'Content-Type: application/json')
  echo "-- POST /v1/devices"
  curl -s "${auth[@]}" "${j[@]}" -d '{"id":"boiler-1","name":"Boiler room","model":"env1"}' "$u/v1/devices"; echo
  echo "-- POST /v1/devices/boiler-1/telemetry"
  curl -s "${auth[@]}" "${j[@]}" -d '{"points":[{"ts":"2026-11-23T10:00:00.000Z","metric":"temp_c","value":21.5}]}' \
    "$u/v1/devices/boiler-1/telemetry"; echo
  echo "-- GET /v1/devices/boiler-1/telemetry?from=0"
  curl -s "${auth[@]}" "$u/v1/devices/boiler-1/telemetry?from=0"; echo
  echo "-- GET /v1/devices without a token"
  curl -s -i "$u/v1/devices" | sed -n '1p;/WWW-Authenticate/p'
  echo "-- GET /metrics (first lines)"
  curl -s "$u/metrics" | grep '^api_http_requests_total' | head -3
  kill -TERM "$api_pid"; wait "$api_pid" && echo "(api-server exited 0 after SIGTERM)"
  trap - EXIT
  echo "-- its log:"; cut -c1-160 server.log
)
unset API_SERVER_PASSPHRASE
rm -rf "$adir"

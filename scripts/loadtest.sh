#!/usr/bin/env bash
# Load test of the libnet server (examples/echo) driven by examples/loadgen.
#   scripts/loadtest.sh BUILD CONNS SECS [WORKERS]
# 1. CONNS connections held SECS seconds with periodic traffic (each
#    connection sends a 32-byte message every 5 s on average); prints the
#    accept rate, the server's user-space RSS per connection, kernel memory
#    per connection, and whether every message came back.
# 2. Graceful shutdown under load: SIGTERM mid-run; every echo that reaches
#    a client is whole and the server exits 0.
# Fails (exit 1) if a connection was refused or a message lost. Only
# 127.0.0.0/8; stops by itself (loadgen has its own time bound).
set -euo pipefail
build=${1:-build}
conns=${2:-5000}
secs=${3:-5}
workers=${4:-$(( (conns + 14999) / 15000 ))}
[ "$workers" -lt 2 ] && workers=2
procs=$(( (conns + 9999) / 10000 )); [ "$procs" -lt 2 ] && procs=2
addrs=$(( (conns + 19999) / 20000 ))
echo_bin=$build/examples/echo/echo
loadgen=$build/examples/loadgen/loadgen
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

workers_of() { pgrep -P "$1" | tr '\n' ' '; }
rss_sum() { local t=0; for p in $(workers_of "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' /proc/"$p"/status 2>/dev/null || true)
    t=$((t + ${v:-0})); done; echo $t; }  # a worker that just exited has no VmRSS
# Kernel memory for sockets: TCP buffer pages (sockstat "mem") + slab.
kmem_kb() { local pages slab
  pages=$(awk '/^TCP:/{for(i=1;i<NF;i++) if($i=="mem") print $(i+1)}' /proc/net/sockstat)
  slab=$(awk '/^Slab:/{print $2}' /proc/meminfo); echo $((pages * 4 + slab)); }

"$echo_bin" -p "$port" -w "$workers" -i 120000 2>"$build/loadtest-echo.log" &
master=$!
trap 'kill -TERM $master 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ "$(workers_of $master | wc -w)" -eq "$workers" ] && break; sleep 0.1; done
sleep 0.3
rss0=$(rss_sum $master); k0=$(kmem_kb)
echo "loadtest: $conns connections, $secs s, $workers workers, $procs loadgen processes, $addrs source addresses"
rate=$(( conns / 5 )); [ "$rate" -lt 1 ] && rate=1
"$loadgen" -p "$port" -c "$conns" -P "$procs" -a "$addrs" -d "$secs" -r "$rate" >"$build/loadtest-gen.log" &
gen=$!
# Sample memory in the middle of the hold.
for _ in $(seq 600); do
  est=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
  [ "$est" -ge "$conns" ] && break; sleep 0.1
done
sleep $(( secs / 2 ))
rss1=$(rss_sum $master); k1=$(kmem_kb)
held=$(ss -Htn state established "( sport = :$port )" | wc -l)
status=0
wait $gen || status=1
cat "$build/loadtest-gen.log"
python3 - "$conns" "$held" "$rss0" "$rss1" "$k0" "$k1" <<'PY'
import sys
conns, held, rss0, rss1, k0, k1 = map(int, sys.argv[1:])
print(f"loadtest: held {held} server-side connections at mid-run")
print(f"loadtest: server user-space RSS {rss0} KiB idle -> {rss1} KiB: "
      f"{(rss1 - rss0) * 1024 / max(held, 1):.0f} B per connection")
print(f"loadtest: kernel memory (TCP pages + slab, client and server sides) +{k1 - k0} KiB: "
      f"{(k1 - k0) * 1024 / max(held, 1):.0f} B per connection")
PY
kill -TERM $master; wait $master || status=1
grep -h '"worker exit"' "$build/loadtest-echo.log" || true

# Graceful shutdown under load: closed-loop traffic, SIGTERM after 2 s.
sconns=$(( conns < 2000 ? conns : 2000 ))
"$echo_bin" -p "$port" -w 2 2>"$build/loadtest-echo2.log" &
master=$!
for _ in $(seq 50); do [ "$(workers_of $master | wc -w)" -eq 2 ] && break; sleep 0.1; done
sleep 0.3
LOADGEN_KILL=$master "$loadgen" -p "$port" -c "$sconns" -P 2 -d 4 -q 4 -k 2 >"$build/loadtest-gen2.log" || true
sed 's/^loadgen:/loadgen (shutdown under load):/' "$build/loadtest-gen2.log"
if wait $master; then echo "loadtest: server exited 0 after SIGTERM"; else echo "loadtest: server exit FAILED"; status=1; fi
trap - EXIT
grep -q ' corrupt=0 truncated=0 ' "$build/loadtest-gen2.log" || { echo "loadtest: damaged echo during shutdown"; status=1; }
[ $status -eq 0 ] && echo "loadtest: PASS" || echo "loadtest: FAIL"
exit $status

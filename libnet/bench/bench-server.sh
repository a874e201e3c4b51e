#!/usr/bin/env bash
# libnet server benchmark: echo throughput and p99 latency of the rivet
# server (examples/echo) against idiomatic libuv and libevent echo servers
# (echo-uv.c, echo-event.c), with 1 and 2 worker processes, all driven in
# the same run by examples/loadgen; then backpressure: server RSS growth
# per connection behind readers limited to 1 MB/s.
#   bench-server.sh BUILD [--quick]
set -euo pipefail
build=$1
secs=5; conns=100; bp_secs=6
[ "${2:-}" = "--quick" ] && { secs=1; conns=20; bp_secs=2; }
loadgen=$build/examples/loadgen/loadgen
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

start() { # name workers -> pid of the master
  case $1 in
    rivet) "$build/examples/echo/echo" -p "$port" -w "$2" 2>/dev/null & ;;
    libuv) "$build/libnet/bench/echo-uv" "$port" "$2" & ;;
    libevent) "$build/libnet/bench/echo-event" "$port" "$2" & ;;
  esac
  pid=$!
  for _ in $(seq 50); do [ "$(pgrep -P $pid | wc -l)" -ge "$2" ] && break; sleep 0.1; done
  sleep 0.3
}
stop() { kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
pid=
trap '[ -n "$pid" ] && kill -TERM $pid 2>/dev/null; true' EXIT
rss_sum() { local t=0; for p in $(pgrep -P "$1"); do
    v=$(awk '/^VmRSS:/{print $2}' /proc/"$p"/status 2>/dev/null || true)
    t=$((t + ${v:-0})); done; echo $t; }  # a worker that just exited has no VmRSS
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

declare -A tput p99 fp99
fixed=40000; [ "${2:-}" = "--quick" ] && fixed=2000
echo "bench-server: echo, $conns connections x 1 message in flight, 32-byte messages, $secs s, $(nproc) CPUs"
for w in 1 2; do
  # Load generator threads: the CPUs the workers leave (at least 1). More
  # busy threads than CPUs turns the closed-loop figures into a measure of
  # the scheduler's wake-up preemption, not of the server (docs/benchmarks.md).
  gp=$(( $(nproc) - w )); [ $gp -lt 1 ] && gp=1
  echo "  workers=$w, loadgen threads=$gp"
  for s in rivet libuv libevent; do
    start $s $w
    out=$("$loadgen" -p "$port" -c "$conns" -P $gp -d "$secs" -q 1 -m 32 || true)
    # p99 at the same offered load for every server (open loop).
    out2=$("$loadgen" -p "$port" -c "$conns" -P $gp -d "$secs" -r "$fixed" -m 32 || true)
    stop
    tput[$s.$w]=$(echo "$out" | field msgs_per_s)
    p99[$s.$w]=$(echo "$out" | field p99_us)
    fp99[$s.$w]=$(echo "$out2" | field p99_us)
    printf '  %-9s workers=%d  %9s msg/s  p99 %6s us (closed loop); p99 %6s us at %d msg/s\n' \
      $s $w "${tput[$s.$w]}" "${p99[$s.$w]}" "${fp99[$s.$w]}" $fixed
  done
  for b in libuv libevent; do
    python3 -c "import sys; t,tb,p,pb,f,fb=map(float,sys.argv[1:7]); print(f'  ratio rivet/{sys.argv[7]} workers={sys.argv[8]}: throughput {t/tb:.2f}x, p99 {p/pb:.2f}x closed loop, {f/fb:.2f}x at fixed rate')" \
      "${tput[rivet.$w]}" "${tput[$b.$w]}" "${p99[rivet.$w]}" "${p99[$b.$w]}" "${fp99[rivet.$w]}" "${fp99[$b.$w]}" $b $w
  done
done

echo "bench-server: backpressure, 10 connections sending flat out, each read at 1 MB/s, $bp_secs s"
for s in rivet libuv libevent; do
  start $s 1
  r0=$(rss_sum $pid)
  "$loadgen" -p "$port" -c 10 -P 1 -d "$bp_secs" -B -S 1000000 >/dev/null &
  gen=$!
  r1=$r0
  while kill -0 $gen 2>/dev/null; do   # peak RSS while the readers lag
    r=$(rss_sum $pid); [ "$r" -gt "$r1" ] && r1=$r
    sleep 0.2
  done
  wait $gen || true
  stop
  printf '  %-9s server RSS %6d KiB -> peak %7d KiB: %7d KiB per connection\n' $s "$r0" "$r1" $(( (r1 - r0) / 10 ))
done

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
say "memviz: ownership visualizer (examples/memviz): a valid script, step by step"
"$build/examples/memviz/memviz" examples/memviz/scripts/functions.rv

say "memviz: a script that breaks the rules is rejected (exit 1), with fixes that copy nothing"
"$build/examples/memviz/memviz" examples/memviz/scripts/several.rv || echo "(memviz exited with $?)"
"$build/examples/memviz/memviz" --html "$build/memviz-rc.html" examples/memviz/scripts/rc.rv
say "wordfreq: rivet-core arena + vec (examples/vec)"
printf 'The cat saw the dog. The DOG saw a cat; a cat ran!\nIt is the end.\n' | "$build/examples/vec/wordfreq" -n 5
say "pool: producers and consumers sharing a fixed-size block pool (examples/pool)"
"$build/examples/pool/pool" 100000

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

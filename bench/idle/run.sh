#!/usr/bin/env bash
# `make bench-idle`: the host CPU that an idle gmpos costs. Boots PROG=httpd
# (a server with nothing to do: every P idle, goroutines parked in the
# netpoller), lets it settle, then reads QEMU's CPU time (user + system,
# /proc/PID/stat) over SECS seconds of wall time and prints it as a share of
# one host core. CPU time, not wall time: the figure does not depend on how
# busy the host is. Writes target/bench/idle.json.
#
# usage: bench/idle/run.sh GMPOS_RUN [SMP]   (SECS=10 by default)
set -euo pipefail
run=$1
smp=${2:-4}
secs=${SECS:-10}
out=target/bench
mkdir -p "$out"
log=$(mktemp)
"$run" --smp "$smp" --http-port 0 --echo-port 0 --timeout $((secs + 120)) PROG=httpd >"$log" 2>&1 &
runner=$!
trap 'kill $runner 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 240); do
  grep -q '^httpd: listening' "$log" && break
  kill -0 $runner 2>/dev/null || { cat "$log" >&2; echo 'bench-idle: the kernel stopped before serving' >&2; exit 1; }
  sleep 0.5
done
grep -q '^httpd: listening' "$log" || { cat "$log" >&2; echo 'bench-idle: httpd did not start within 120 s' >&2; exit 1; }
qemu=$(pgrep -P $runner -f qemu-system | head -1)
[ -n "$qemu" ] || { echo 'bench-idle: no QEMU process under gmpos-run' >&2; exit 1; }
sleep 3 # boot's last work (the APs parking, the first polls) is over
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$qemu/stat"; }
hz=$(getconf CLK_TCK)
t0=$(cpu_ticks); start=$(date +%s.%N)
sleep "$secs"
t1=$(cpu_ticks); end=$(date +%s.%N)
pct=$(echo "scale=2; 100 * ($t1 - $t0) / $hz / ($end - $start)" | bc)
echo "bench-idle: idle PROG=httpd on $smp vCPUs: QEMU used ${pct}% of one host core over ${secs} s (CPU time $(((t1 - t0) * 1000 / hz)) ms; host load $(cut -d' ' -f1 /proc/loadavg))"
printf '{"smp": %s, "seconds": %s, "qemu_cpu_percent_of_one_core": %s}\n' "$smp" "$secs" "$pct" >"$out/idle.json"

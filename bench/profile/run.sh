#!/usr/bin/env bash
# `make bench-profile`: where a scheduler operation's instructions go.
#
# Boots PROG=bench on one vCPU under icount with QEMU's gdb stub, lets the
# kernel run until FUNC has been called SKIP times, then single-steps STEPS
# instructions under gdb and prints how many belong to each function
# (inlined functions by their own name), then the order they ran in. Under
# icount every instruction is counted exactly once, so the totals add up to
# the figures of `make bench`: e.g. a yield is FUNC=kernel::runtime::proc::gosched
# with STEPS=214 (about one yield; a few more show a full cycle).
#
# Variables: FUNC (a function name gdb knows), SKIP (default 100: past the
# warm-up's first calls), STEPS (default 500), N (the bench's N, default
# 2000), OUT (default target/bench/profile.txt).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
FUNC=${FUNC:-kernel::runtime::proc::gosched}
SKIP=${SKIP:-100}
STEPS=${STEPS:-500}
N=${N:-2000}
OUT=${OUT:-$root/target/bench/profile.txt}
PORT=1234

command -v gdb >/dev/null 2>&1 || {
    echo "bench-profile: installing gdb with apt-get" >&2
    sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gdb >/dev/null
}
run=$root/target/debug/gmpos-run
symbols=$("$run" --print-symbols)
mkdir -p "$(dirname "$OUT")"

rm -f "$OUT"
# QEMU waits for gdb (--gdb); its console goes to a file.
"$run" --smp 1 --icount --gdb --timeout 600 PROG=bench "N=$N" </dev/null >"$OUT.serial" 2>&1 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
sleep 1
FUNC=$FUNC SKIP=$SKIP STEPS=$STEPS SYMBOLS=$symbols PORT=$PORT OUT=$OUT \
    gdb -batch -nx -x "$root/bench/profile/trace.py" >"$OUT.gdb" 2>&1 || {
    echo "bench-profile: gdb failed (see $OUT.gdb)" >&2
    tail -5 "$OUT.gdb" >&2
    exit 1
}
wait $qemu 2>/dev/null || true
if [[ ! -s $OUT ]]; then
    echo "bench-profile: no profile: is FUNC=$FUNC a function gdb knows? (see $OUT.gdb)" >&2
    grep -m1 -i "not defined\|error" "$OUT.gdb" >&2 || true
    exit 1
fi
cat "$OUT"

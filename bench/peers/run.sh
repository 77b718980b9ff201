#!/usr/bin/env bash
# `make bench-peers`: instructions per scheduler operation in Go and Tokio,
# beside gmpos's own figures (target/bench/results.json, from `make bench`).
#
# Go (Debian's golang-1.19-go, GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1) and
# Tokio (current-thread runtime) run each operation N1 and then N2 times
# under `valgrind --tool=callgrind`; instructions per operation are
#   (Ir(N2) - Ir(N1)) / (operations(N2) - operations(N1)),
# so start-up, shutdown and anything else done once cancel out. Callgrind
# counts the user-space instructions of every thread of the process
# (Go's sysmon and GC workers included); it does not see what the host
# kernel runs inside system calls. gmpos's figures are exact guest
# instruction counts under QEMU icount, interrupt handlers included.
#
# Installs golang-1.19-go and valgrind with apt-get when missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/target/peers
results=$root/target/bench/results.json
N1=${N1:-20000}
N2=${N2:-40000}
GO=/usr/lib/go-1.19/bin/go
OPS="yield spawn spawn_many chan_pingpong"

if (( N1 % 1000 || N2 % 1000 || N2 <= N1 )); then
    echo "bench-peers: N1 and N2 must be multiples of 1000 with N2 > N1 (got $N1, $N2)" >&2
    exit 2
fi

need=()
[[ -x $GO ]] || need+=(golang-1.19-go)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
if (( ${#need[@]} )); then
    echo "bench-peers: installing ${need[*]} with apt-get" >&2
    sudo=; [[ $(id -u) == 0 ]] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [[ ! -f $results ]]; then
    echo "bench-peers: $results is missing: run make bench first" >&2
    exit 1
fi

mkdir -p "$out"
echo "bench-peers: building the Go and Tokio programs" >&2
(cd "$root/bench/peers/go" && GOCACHE=$out/gocache GOFLAGS=-mod=mod "$GO" build -o "$out/go-peers" .)
(cd "$root/bench/peers/tokio" && CARGO_TARGET_DIR=$out/tokio cargo build --quiet --release --locked)
tokio_bin=$out/tokio/release/tokio-peers

# Instructions (callgrind's Ir) of one run: count BIN OP N.
count() {
    local f=$out/callgrind.out
    valgrind --tool=callgrind --callgrind-out-file="$f" "$1" "$2" "$3" >/dev/null 2>"$out/valgrind.log" || {
        echo "bench-peers: $1 $2 $3 failed under valgrind:" >&2
        cat "$out/valgrind.log" >&2
        exit 1
    }
    awk '/^summary:/ { print $2 }' "$f"
}

# Operations in a run of N: a yield run makes 2N yields (two Gs, N each).
ops() { if [[ $1 == yield ]]; then echo $((2 * $2)); else echo "$2"; fi; }

# Instructions per operation: per_op BIN OP.
per_op() {
    local a b
    a=$(count "$1" "$2" "$N1")
    b=$(count "$1" "$2" "$N2")
    awk -v a="$a" -v b="$b" -v d=$(( $(ops "$2" "$N2") - $(ops "$2" "$N1") )) 'BEGIN { printf "%.1f", (b - a) / d }'
}

# gmpos's figure for OP from results.json ("-" when not measured).
gmpos() {
    awk -v op="$1" '
        /"name":/ { name = $2; gsub(/[",]/, "", name) }
        /"value":/ { v = $2; gsub(/,/, "", v); if (name == op) value = v }
        END { print (value == "" || value == "null") ? "-" : value }' "$results"
}

declare -A label=(
    [yield]="yield, per yield"
    [spawn]="spawn + exit + wait, one at a time"
    [spawn_many]="spawn 1000 then wait all, per G"
    [chan_pingpong]="unbuffered channel ping-pong, per round trip"
)
rows=()
for op in $OPS; do
    echo "bench-peers: $op (callgrind, N=$N1 and N=$N2)" >&2
    go=$(GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 per_op "$out/go-peers" "$op")
    tk=$(per_op "$tokio_bin" "$op")
    rows+=("$(printf '%-46s %10s %10s %10s' "${label[$op]}" "$(gmpos "$op")" "$go" "$tk")")
done

echo
echo "instructions per operation ($(date -u +%Y-%m-%d), host: $(nproc) cores)"
printf '%-46s %10s %10s %10s\n' operation gmpos "Go $("$GO" env GOVERSION | sed 's/^go//')" "Tokio $(awk '/^name = "tokio"/ { getline; gsub(/[^0-9.]/, ""); print }' "$root/bench/peers/tokio/Cargo.lock")"
printf '%s\n' "${rows[@]}"
echo
echo "gmpos: exact guest instructions under QEMU -icount (make bench), interrupt handlers included."
echo "Go, Tokio: callgrind's user-space instruction count of the whole process (all threads), difference"
echo "of N=$N2 and N=$N1 runs; instructions the host kernel runs in system calls are not counted."
echo "Go: GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1. Tokio: current-thread runtime; ping-pong over mpsc(1)."

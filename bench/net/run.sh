#!/usr/bin/env bash
# `make bench-net`: gmpos's httpd and echo beside Go 1.19 on Linux 6.1 in
# the same QEMU machine (see boot/src/bin/gmpos-bench-net.rs for what is
# measured and how). This script prepares the Linux peer from Debian's
# packages — the cloud kernel (its virtio modules), busybox-static for init,
# Go 1.19 for a static server (bench/net/peer) — into target/bench-net/, and
# installs wrk and Go when missing. Kernel and busybox are unpacked with
# dpkg-deb, not installed on the host.
#
# usage: bench/net/run.sh GMPOS_BENCH_NET [SECONDS] [SMP]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=$1
seconds=${2:-10}
smp=${3:-4}
out=$root/target/bench-net
GO=/usr/lib/go-1.19/bin/go

[[ $(id -u) == 0 ]] || { echo 'bench-net: needs root (it creates a network namespace and a TAP device)' >&2; exit 1; }
need=()
[[ -x $GO ]] || need+=(golang-1.19-go)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
if (( ${#need[@]} )); then
    echo "bench-net: installing ${need[*]} with apt-get" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$out/debs"
if [[ ! -f $out/vmlinuz || ! -f $out/initrd.cpio ]]; then
    echo 'bench-net: building the Linux peer (kernel, busybox, Go server) from Debian packages' >&2
    rm -rf "$out/debs" "$out/pkg" "$out/initrd"
    mkdir -p "$out/debs" "$out/pkg" "$out/initrd"/{bin,lib/modules,proc,sys,dev}
    image=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[^ ]*\)/\1/p' | head -1)
    [[ -n $image ]] || { apt-get update -qq; image=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/.*Depends: \(linux-image-[^ ]*\)/\1/p' | head -1); }
    (cd "$out/debs" && apt-get download -q "$image" busybox-static 2>/dev/null)
    for deb in "$out"/debs/*.deb; do dpkg-deb -x "$deb" "$out/pkg"; done
    cp "$out"/pkg/boot/vmlinuz-* "$out/vmlinuz"
    # The virtio-net driver and what it needs, in dependency order (the
    # modules' depends= fields); init loads them in this order.
    modules='virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net'
    echo "$modules" >"$out/initrd/lib/modules/load-order"
    for m in $modules; do
        ko=$(find "$out/pkg/lib/modules" -name "$m.ko" | head -1)
        [[ -n $ko ]] || { echo "bench-net: module $m.ko not found in $image" >&2; exit 1; }
        cp "$ko" "$out/initrd/lib/modules/"
    done
    cp "$out/pkg/bin/busybox" "$out/initrd/bin/busybox"
    install -m 755 "$root/bench/net/init" "$out/initrd/init"
    (cd "$root/bench/net/peer" && CGO_ENABLED=0 GOCACHE=$out/gocache GOFLAGS=-mod=mod "$GO" build -o "$out/initrd/peer" .)
    (cd "$out/initrd" && find . | "$out/initrd/bin/busybox" cpio -o -H newc >"$out/initrd.cpio" 2>/dev/null)
fi
exec "$bench" --kernel "$out/vmlinuz" --initrd "$out/initrd.cpio" --seconds "$seconds" --smp "$smp"

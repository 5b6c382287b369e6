#!/usr/bin/env bash
# Proves the linux-arm64 distribution without a board: unpacks it, runs its own bin/coedge launcher with an arm64
# Java 17 from Debian under qemu-aarch64-static, and checks
#   1. `coedge selftest` ends with PASS (arm64 OpenBLAS and JavaCPP natives, every kernel, the small model, Aeron);
#   2. a cooperative run of the self-test model on loopback UDP (two `coedge worker` processes and the coordinator,
#      `coedge run --peers`) gives the same output as the model run alone (max abs error / max |alone| <= 1e-5).
#      Two workers, because the coordinator computes the head (global pooling, fully-connected) and, under emulation,
#      its first timing of the head is so slow that the planner gives it no rows: the two workers then split every
#      feature map's rows between them and exchange halo rows.
#
# Usage: run-qemu.sh target/coedge-VERSION-linux-arm64.tar.gz   (or: mvn -B verify -Parm64-qemu)
#
# What it changes on this machine, only when missing and only as root: installs qemu-user-static (apt-get), adds the
# arm64 architecture to dpkg (`dpkg --add-architecture arm64`) and runs `apt-get update` so that arm64 packages can be
# downloaded. The Java runtime is never installed: its .deb files are fetched with `apt-get download` and unpacked
# with `dpkg -x` into a sysroot under the work directory (kept between runs). Everything else it creates (processes,
# key, temporary and Aeron directories) is removed on exit.
#
# Environment: COEDGE_QEMU_WORK (work directory, default: next to the archive, qemu-arm64/).
set -euo pipefail

archive=${1:?usage: run-qemu.sh coedge-VERSION-linux-arm64.tar.gz}
[ -f "$archive" ] || { echo "run-qemu: no archive $archive (run mvn -B package first)" >&2; exit 2; }
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")
work=${COEDGE_QEMU_WORK:-$(dirname "$archive")/qemu-arm64}
root=$work/sysroot
jre=/usr/lib/jvm/java-17-openjdk-arm64
# the runtime and the libraries it and the natives link against (libjvm, libjava: libc, libstdc++, libgcc_s, libz;
# OpenBLAS's JNI library: libstdc++, libgcc_s; libgfortran and libquadmath come inside the OpenBLAS jar)
packages="openjdk-17-jre-headless:arm64 libc6:arm64 libstdc++6:arm64 libgcc-s1:arm64 zlib1g:arm64"
started=$(date +%s.%N)

log()
{
    printf 'run-qemu: %s\n' "$*"
}

elapsed()
{
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f s", b - a }'
}

ensure_qemu()
{
    command -v qemu-aarch64-static >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || { echo "run-qemu: qemu-aarch64-static missing; install qemu-user-static" >&2; exit 2; }
    log "installing qemu-user-static"
    apt-get install -y -qq qemu-user-static >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null && apt-get install -y -qq qemu-user-static >/dev/null; }
}

ensure_sysroot()
{
    [ -x "$root$jre/bin/java" ] && return 0
    [ "$(id -u)" = 0 ] || { echo "run-qemu: building the arm64 sysroot needs root (apt-get download)" >&2; exit 2; }
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "dpkg --add-architecture arm64"
        dpkg --add-architecture arm64
    fi
    if ! apt-cache show openjdk-17-jre-headless:arm64 >/dev/null 2>&1; then
        log "apt-get update (arm64 package lists)"
        apt-get update -qq >/dev/null
    fi
    log "fetching $packages"
    rm -rf "$work/debs" "$root.partial"
    mkdir -p "$work/debs" "$root.partial"
    (cd "$work/debs" && apt-get download -qq -o APT::Sandbox::User=root $packages >/dev/null)
    for deb in "$work"/debs/*.deb; do
        dpkg -x "$deb" "$root.partial"
    done
    rm -rf "$root" "$work/debs"
    mv "$root.partial" "$root"
}

worker_pids=
cleanup()
{
    for pid in $worker_pids; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $worker_pids; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work/tmp" "$work/cluster.key"
}
trap cleanup EXIT

ensure_qemu
ensure_sysroot

# A JAVA_HOME whose bin/java runs the arm64 java under qemu: the distribution's launcher is used unchanged.
mkdir -p "$work/jre/bin" "$work/tmp"
cp "$root$jre/release" "$work/jre/release"
cat > "$work/jre/bin/java" <<EOF
#!/bin/sh
exec qemu-aarch64-static -L "$root" "$root$jre/bin/java" "\$@"
EOF
chmod +x "$work/jre/bin/java"
export JAVA_HOME=$work/jre
export COEDGE_CACHE_DIR=$work/javacpp-cache
export COEDGE_JAVA_OPTS="-Djava.io.tmpdir=$work/tmp"

rm -rf "$work/dist" "$work/model" "$work"/*.log "$work"/*.npy
mkdir -p "$work/dist"
tar -xzf "$archive" -C "$work/dist"
coedge=$(echo "$work"/dist/*/bin/coedge)
log "archive $(basename "$archive") unpacked; java: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
log "natives in lib/: $(cd "$(dirname "$coedge")/../lib" && ls ./*-linux-* | tr '\n' ' ')"

step=$(date +%s.%N)
log "coedge selftest (under qemu-aarch64-static)"
"$coedge" selftest --write-model "$work/model" | tee "$work/selftest.log"
[ "$(tail -n 1 "$work/selftest.log")" = PASS ] || { echo "run-qemu: selftest did not pass" >&2; exit 1; }
log "selftest: PASS in $(elapsed "$step")"

step=$(date +%s.%N)
head -c 32 /dev/urandom > "$work/cluster.key"
base=$(( 42000 + RANDOM % 2000 ))
peers=
for i in 1 2; do
    port=$(( base + i ))
    log "coedge worker --listen 127.0.0.1:$port (log: $work/worker$i.log)"
    "$coedge" worker --listen "127.0.0.1:$port" --key-file "$work/cluster.key" --model-dir "$work/model" \
        --peer-timeout-ms 10000 > "$work/worker$i.log" 2>&1 &
    worker_pids="$worker_pids $!"
    peers=${peers:+$peers,}127.0.0.1:$port
done
for i in 1 2; do
    for _ in $(seq 1 900); do
        grep -q "listening on" "$work/worker$i.log" && break
        sleep 0.2
    done
    grep -q "listening on" "$work/worker$i.log" ||
        { cat "$work/worker$i.log" >&2; echo "run-qemu: worker $i did not start in 180 s" >&2; exit 1; }
    sed "s/^/  worker $i | /" "$work/worker$i.log"
done
log "coedge run --peers $peers (coordinator + 2 workers, loopback UDP)"
"$coedge" run --model "$work/model/selftest.onnx" --input "$work/model/selftest-input.npy" \
    --output "$work/cooperative.npy" --peers "$peers" --key-file "$work/cluster.key" \
    --listen 127.0.0.1:0 --peer-timeout-ms 10000 --repeat 3 --warmup 1 | tee "$work/cooperative.log"
computing=$(grep -E '^[0-9]+ +worker ' "$work/cooperative.log" | grep -vc '\[0, 0) | \[0, 0)' || true)
[ "$computing" -ge 2 ] || { echo "run-qemu: the plan did not split rows over the two workers" >&2; exit 1; }
log "coedge run (the model alone)"
"$coedge" run --model "$work/model/selftest.onnx" --input "$work/model/selftest-input.npy" \
    --output "$work/alone.npy" | tee "$work/alone.log"
python3 - "$work/cooperative.npy" "$work/alone.npy" <<'EOF'
import struct, sys
def floats(path):
    data = open(path, 'rb').read()
    assert data[:6] == b'\x93NUMPY', path
    header = struct.unpack('<H', data[8:10])[0] if data[6] == 1 else struct.unpack('<I', data[8:12])[0]
    start = (10 if data[6] == 1 else 12) + header
    return struct.unpack('<%df' % ((len(data) - start) // 4), data[start:])
coop, alone = floats(sys.argv[1]), floats(sys.argv[2])
assert len(coop) == len(alone) and len(coop) > 0, (len(coop), len(alone))
err = max(abs(a - b) for a, b in zip(coop, alone)) / max(max(abs(b) for b in alone), 1e-3)
print('run-qemu: cooperative vs alone: %d outputs, max rel err %.1e' % (len(coop), err))
sys.exit(0 if err <= 1e-5 else 1)
EOF
log "cooperative run: PASS in $(elapsed "$step")"
log "all passed in $(elapsed "$started")"

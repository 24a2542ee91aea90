#!/usr/bin/env bash
# Set-up command 1: installs the dependencies, builds and installs the release binary, and
# shows berth at work on a built-in busybox image made from the host's busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (berth manages containers and /var/lib/berth)" >&2; exit 1; }

scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> building berth (release)"
cargo build --release --locked --bin berth
install -m 0755 target/release/berth /usr/local/bin/berth
echo "==> installed /usr/local/bin/berth ($(berth --version))"

echo "==> making the built-in busybox image from /bin/busybox"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
scripts/make-busybox-rootfs.sh "$rootfs"
berth import --change 'CMD ["sh"]' -m "busybox from the host's busybox-static" "$rootfs" busybox:latest
berth images

echo "==> running a container from it"
# --network none: the demo needs no network, and setting up berth's bridge and firewall table
# on the host is left to the first container that wants them.
berth run --rm --network none busybox sh -c 'echo "hello from a berth container: $(hostname), pid $$, $(id -un)"'

# shellcheck shell=bash
# run_rm_bridge: `ENGINE run --rm busybox true` on the engine's default bridge network: a
# container with a veth, an address and a default route (berth: bridge `berth0`; docker:
# `docker0` with iptables; podman: CNI's `podman` network), torn down again by `--rm`.

run_rm_bridge_describe() {
  echo "run --rm busybox true on the default bridge network (veth, address, route, NAT)"
}
run_rm_bridge_needs() { echo busybox; }
run_rm_bridge_min_runs() { echo 20; }

run_rm_bridge_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" rm-all || return 1
  local out
  out=$("$W/bin/$1" run --rm busybox sh -c 'ip -4 route | grep -q default && echo routed' 2>&1) ||
    { echo "run --rm busybox on the default network failed: $(printf %s "$out" | tail -1)"; return 1; }
  [ "$out" = routed ] || { echo "no default route in the container: $out"; return 1; }
  run_rm_bridge_check "$1"
}

run_rm_bridge_prepare() { :; }

run_rm_bridge_command() { printf '%s run --rm busybox true' "$(cli "$1")"; }

run_rm_bridge_check() {
  local n
  n=$(containers "$1" count) || { echo "ps -aq failed"; return 1; }
  [ "$n" = 0 ] || { echo "$n containers left after run --rm"; return 1; }
}

run_rm_bridge_cleanup() { tidy "$1"; }

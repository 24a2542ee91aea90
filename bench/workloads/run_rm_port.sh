# shellcheck shell=bash
# run_rm_port: `ENGINE run --rm -p 18081:80 busybox true`: the default bridge plus one
# published port (berth: an nft DNAT map element; docker: iptables DNAT and docker-proxy;
# podman: CNI portmap), all removed again by `--rm`.

run_rm_port_describe() {
  echo "run --rm -p 18081:80 busybox true on the default bridge network"
}
run_rm_port_needs() { echo busybox; }
run_rm_port_min_runs() { echo 20; }

run_rm_port_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" rm-all || return 1
  local out
  out=$("$W/bin/$1" run --rm -p 18081:80 busybox true 2>&1) ||
    { echo "run --rm -p 18081:80 failed: $(printf %s "$out" | tail -1)"; return 1; }
  run_rm_port_check "$1"
}

run_rm_port_prepare() { :; }

run_rm_port_command() { printf '%s run --rm -p 18081:80 busybox true' "$(cli "$1")"; }

run_rm_port_check() {
  local n
  n=$(containers "$1" count) || { echo "ps -aq failed"; return 1; }
  [ "$n" = 0 ] || { echo "$n containers left after run --rm"; return 1; }
}

run_rm_port_cleanup() { tidy "$1"; }

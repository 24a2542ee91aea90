# shellcheck shell=bash
# create: `ENGINE create --network none busybox true` into an engine without containers
# (all removed before each run, untimed).

create_describe() {
  echo "create --network none busybox true; before each run (untimed): rm -f of all containers"
}
create_needs() { echo busybox; }
create_min_runs() { echo 20; }

create_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" rm-all || return 1
  "$W/bin/$1" create --network none busybox true >/dev/null || { echo "create --network none busybox true failed"; return 1; }
  create_check "$1"
}

create_prepare() {
  printf '%q %q rm-all' "$BENCH_LIB/containers" "$W/bin/$1"
}

create_command() {
  printf '%s create --network none busybox true' "$(cli "$1")"
}

create_check() {
  local n id st
  n=$(containers "$1" count) || { echo "ps -aq failed"; return 1; }
  [ "$n" = 1 ] || { echo "$n containers after create, expected 1"; return 1; }
  id=$("$W/bin/$1" ps -aq)
  st=$("$W/bin/$1" inspect -f '{{.State.Status}}' "$id") || { echo "inspect of the created container failed"; return 1; }
  [ "$st" = created ] || { echo "the container is '$st', expected 'created'"; return 1; }
}

create_cleanup() { tidy "$1"; }

# shellcheck shell=bash
# start: `ENGINE start -a bench-start` of a container made before each run (untimed) by
# `create --name bench-start --network none busybox true`: starts it, waits for its exit.

start_describe() {
  echo "start -a of a created busybox true (--network none); before each run (untimed): rm -f all, create"
}
start_needs() { echo busybox; }
start_min_runs() { echo 20; }

start_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" created bench-start || { echo "create --name bench-start failed"; return 1; }
  "$W/bin/$1" start -a bench-start || { echo "start -a bench-start failed"; return 1; }
  start_check "$1"
}

start_prepare() {
  printf '%q %q created bench-start' "$BENCH_LIB/containers" "$W/bin/$1"
}

start_command() {
  printf '%s start -a bench-start' "$(cli "$1")"
}

start_check() {
  local st
  st=$("$W/bin/$1" inspect -f '{{.State.Status}} {{.State.ExitCode}}' bench-start) || { echo "inspect bench-start failed"; return 1; }
  [ "$st" = "exited 0" ] || { echo "bench-start is '$st' after start -a, expected 'exited 0'"; return 1; }
}

start_cleanup() { tidy "$1"; }

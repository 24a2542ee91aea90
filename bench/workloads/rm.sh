# shellcheck shell=bash
# rm: `ENGINE rm bench-rm` of an exited container, made before each run (untimed) by
# `run --name bench-rm --network none busybox true`.

rm_describe() {
  echo "rm of an exited container; before each run (untimed): rm -f all, run --name bench-rm --network none busybox true"
}
rm_needs() { echo busybox; }
rm_min_runs() { echo 20; }

rm_setup() {
  ensure_busybox "$1" || return 1
  containers "$1" exited bench-rm || { echo "run --name bench-rm failed"; return 1; }
  "$W/bin/$1" rm bench-rm >/dev/null || { echo "rm bench-rm failed"; return 1; }
  rm_check "$1"
}

rm_prepare() {
  printf '%q %q exited bench-rm' "$BENCH_LIB/containers" "$W/bin/$1"
}

rm_command() {
  printf '%s rm bench-rm' "$(cli "$1")"
}

rm_check() {
  local n
  n=$(containers "$1" count) || { echo "ps -aq failed"; return 1; }
  [ "$n" = 0 ] || { echo "$n containers left after rm"; return 1; }
}

rm_cleanup() { tidy "$1"; }

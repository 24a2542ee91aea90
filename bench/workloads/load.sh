# shellcheck shell=bash
# load: `ENGINE load -i big.tar` of the ~200 MB, 5-layer bench image. Before every run
# (untimed) the image and unused layers are removed and dirty pages flushed.

load_describe() {
  echo "load -i of the ${BIG_MB} MB, ${BIG_LAYERS}-layer docker-archive; before each run (untimed): rmi -f, image prune -af, sync"
}

load_setup() {
  local e=$1 left root
  # One untimed load and removal: proves the engine loads the archive to the right image ID,
  # and that removal really frees the layers (else every timed load would hit a cache).
  "$BENCH_LIB/remove-image" "$W/bin/$e" bench:latest || { echo "could not remove bench:latest before loading"; return 1; }
  ensure_big "$e" || return 1
  "$BENCH_LIB/remove-image" "$W/bin/$e" bench:latest || { echo "rmi -f / image prune -af did not remove bench:latest"; return 1; }
  root=$(engine_root "$e")
  left=$(du -sm "$root" | cut -f1)
  if [ "$left" -ge $((BIG_MB / 2)) ]; then
    echo "$left MB stay in $root after rmi -f and image prune -af: layers are kept, timed loads would hit a cache"
    return 1
  fi
}

load_prepare() {
  printf '%q %q bench:latest' "$BENCH_LIB/remove-image" "$W/bin/$1"
}

load_command() {
  printf '%s load -i %q' "$(cli "$1")" "$BIG"
}

load_check() {
  check_big_id "$1"
}

load_needs() { echo big; }

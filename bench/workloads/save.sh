# shellcheck shell=bash
# save: `ENGINE save -o FILE bench:latest` of the ~200 MB, 5-layer image, to a file on the
# same filesystem as the engine's storage. The previous output is removed (and pages synced)
# before each run, untimed.

save_out() { echo "$W/save-$1.tar"; }

save_describe() {
  echo "save -o FILE of the ${BIG_MB} MB, ${BIG_LAYERS}-layer image to the same filesystem; before each run (untimed): rm FILE, sync"
}

save_setup() {
  ensure_big "$1"
}

save_prepare() {
  printf 'sh -c %q' "rm -f $(printf %q "$(save_out "$1")") && sync"
}

save_command() {
  printf '%s save -o %q bench:latest' "$(cli "$1")" "$(save_out "$1")"
}

save_check() {
  local out
  out=$(save_out "$1")
  python3 "$BENCH_LIB/check-archive.py" "$out" bench:latest "$BIG_LAYERS" "$BIG_MB" >/dev/null || return 1
  rm -f "$out"
}

save_needs() { echo big; }

# shellcheck shell=bash
# images: `ENGINE images` with exactly MANY_N (100) distinct tiny single-layer images in
# the store, all loaded once from one docker-archive.

images_describe() {
  echo "images (table output) with $MANY_N distinct single-layer images in the store"
}

images_count() { "$W/bin/$1" images -q | wc -l; }

images_setup() {
  local e=$1 n
  # Exactly the 100 images: no containers, bench:latest or busybox:latest of other workloads.
  if "$W/bin/$e" ps -aq >/dev/null 2>&1; then
    containers "$e" rm-all || { echo "could not remove the containers of other workloads"; return 1; }
  fi
  "$BENCH_LIB/remove-image" "$W/bin/$e" bench:latest || { echo "could not remove bench:latest"; return 1; }
  "$BENCH_LIB/remove-image" "$W/bin/$e" busybox:latest || { echo "could not remove busybox:latest"; return 1; }
  n=$(images_count "$e") || { echo "images -q failed"; return 1; }
  if [ "$n" != "$MANY_N" ]; then
    "$W/bin/$e" load -i "$MANY" >/dev/null 2>"$W/$e-many.err" ||
      { echo "load of the $MANY_N-image archive failed: $(last_line "$W/$e-many.err")"; return 1; }
    n=$(images_count "$e") || { echo "images -q failed"; return 1; }
  fi
  [ "$n" = "$MANY_N" ] || { echo "images -q lists $n images, expected $MANY_N"; return 1; }
}

images_prepare() { :; }

images_command() {
  printf '%s images' "$(cli "$1")"
}

images_check() {
  local n
  n=$("$W/bin/$1" images | grep -c 'many/img[0-9]') || true
  [ "$n" = "$MANY_N" ] || { echo "images lists $n many/img* rows, expected $MANY_N"; return 1; }
}

# One run takes milliseconds (and is noisy on a shared machine): always take many.
images_min_runs() { echo 30; }

images_needs() { echo many; }

# shellcheck shell=bash
# pull: `ENGINE pull 127.0.0.1:5000/bench:latest` of the ~200 MB, 5-layer bench image from a
# local registry (Debian's docker-registry, plain HTTP on loopback in the bench's network
# namespace), where skopeo put it once from big.tar (gzip layers, as any registry holds
# them). Before every run (untimed) the image and unused layers are removed and pages synced.

PULL_REG_DIR=${W:-/tmp}/registry-pull
PULL_PORT=5000
PULL_REF=127.0.0.1:$PULL_PORT/bench:latest

pull_describe() {
  echo "pull of the ${BIG_MB} MB, ${BIG_LAYERS}-layer image (gzip) from a local registry on 127.0.0.1; before each run (untimed): rmi -f, image prune -af, sync"
}

pull_setup() {
  local e=$1 id
  if [ ! -e "$PULL_REG_DIR/pushed" ]; then
    "$BENCH_LIB/registry" start "$PULL_REG_DIR" "$PULL_PORT" || return 1
    skopeo --insecure-policy copy -q --dest-tls-verify=false "docker-archive:$BIG" "docker://$PULL_REF" ||
      { echo "skopeo could not push the bench image"; return 1; }
    touch "$PULL_REG_DIR/pushed"
  elif ! curl -sf "http://127.0.0.1:$PULL_PORT/v2/" >/dev/null; then
    "$BENCH_LIB/registry" start "$PULL_REG_DIR" "$PULL_PORT" || return 1
  fi
  "$BENCH_LIB/remove-image" "$W/bin/$e" "$PULL_REF" || return 1
  "$BENCH_LIB/remove-image" "$W/bin/$e" bench:latest || return 1
  # One untimed pull: the right image ID.
  "$W/bin/$e" pull $(pull_flags "$e") "$PULL_REF" >/dev/null || { echo "pull failed"; return 1; }
  id=$(image_id "$e" "$PULL_REF") || { echo "$PULL_REF is not in the store after the pull"; return 1; }
  [ "$id" = "$BIG_ID" ] || { echo "$PULL_REF has ID $id, expected $BIG_ID"; return 1; }
}

pull_flags() { [ "$1" != podman ] || echo "--tls-verify=false"; }

pull_prepare() {
  printf '%q %q %q' "$BENCH_LIB/remove-image" "$W/bin/$1" "$PULL_REF"
}

pull_command() {
  printf '%s pull %s %q' "$(cli "$1")" "$(pull_flags "$1")" "$PULL_REF"
}

pull_check() {
  local id
  id=$(image_id "$1" "$PULL_REF") || { echo "$PULL_REF is not in the store after the pull"; return 1; }
  [ "$id" = "$BIG_ID" ] || { echo "$PULL_REF has ID $id, expected $BIG_ID"; return 1; }
}

pull_cleanup() {
  "$BENCH_LIB/remove-image" "$W/bin/$1" "$PULL_REF" || true
  # The last engine's turn stops the registry (each setup restarts it as needed).
  "$BENCH_LIB/registry" stop "$PULL_REG_DIR" "$PULL_PORT"
}

pull_needs() { echo big; }

# shellcheck shell=bash
# push: `ENGINE push 127.0.0.1:5001/push:latest` of the ~200 MB, 5-layer bench image (loaded
# from big.tar) to a local registry (Debian's docker-registry, plain HTTP on loopback in the
# bench's network namespace). Before every run (untimed) the registry is restarted with
# empty storage, so every run uploads every layer.

PUSH_REG_DIR=${W:-/tmp}/registry-push
PUSH_PORT=5001
PUSH_REF=127.0.0.1:$PUSH_PORT/push:latest

push_describe() {
  echo "push of the ${BIG_MB} MB, ${BIG_LAYERS}-layer image (loaded from the docker-archive) to a local registry on 127.0.0.1; before each run (untimed): registry restarted with empty storage"
}

push_flags() { [ "$1" != podman ] || echo "--tls-verify=false"; }

push_setup() {
  local e=$1
  ensure_big "$e" || return 1
  "$W/bin/$e" tag bench:latest "$PUSH_REF" || { echo "tag failed"; return 1; }
  "$BENCH_LIB/registry" restart "$PUSH_REG_DIR" "$PUSH_PORT" || return 1
}

push_prepare() {
  printf '%q restart %q %q' "$BENCH_LIB/registry" "$PUSH_REG_DIR" "$PUSH_PORT"
}

push_command() {
  printf '%s push %s %q' "$(cli "$1")" "$(push_flags "$1")" "$PUSH_REF"
}

push_check() {
  local m n
  m=$(curl -sf -H 'Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$PUSH_PORT/v2/push/manifests/latest") || { echo "no manifest in the registry after the push"; return 1; }
  n=$(printf '%s' "$m" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["layers"]))')
  [ "$n" = "$BIG_LAYERS" ] || { echo "the pushed manifest has $n layers, expected $BIG_LAYERS"; return 1; }
}

push_cleanup() {
  "$W/bin/$1" rmi "$PUSH_REF" >/dev/null 2>&1 || true
  "$BENCH_LIB/registry" stop "$PUSH_REG_DIR" "$PUSH_PORT"
}

push_needs() { echo big; }

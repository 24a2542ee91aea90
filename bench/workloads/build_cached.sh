# shellcheck shell=bash
# build_cached: the same 10-step Dockerfile rebuilt with nothing changed (every step cached).
# Times itself (build_measure in lib/build-common.sh): docker runs twice, classic builder
# and BuildKit, in one run.
# shellcheck source=../lib/build-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-common.sh"

build_cached_describe() { echo "the same 10-step Dockerfile rebuilt with nothing changed (every step cached)"; }
build_cached_needs() { echo busybox; }
build_cached_rows() { build_rows build_cached "$1" "the same 10-step Dockerfile rebuilt with nothing changed (every step cached)"; }
build_cached_setup() { ensure_busybox "$1"; }
build_cached_measure() { build_measure "$1" "$2" cached build_cached; }
build_cached_cleanup() { build_forget "$1" - >/dev/null 2>&1 || true; tidy "$1"; }

# shellcheck shell=bash
# build_touch: the same 10-step Dockerfile rebuilt after one file copied by the 6th step changed content.
# Times itself (build_measure in lib/build-common.sh): docker runs twice, classic builder
# and BuildKit, in one run.
# shellcheck source=../lib/build-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-common.sh"

build_touch_describe() { echo "the same 10-step Dockerfile rebuilt after one file copied by the 6th step changed content"; }
build_touch_needs() { echo busybox; }
build_touch_rows() { build_rows build_touch "$1" "the same 10-step Dockerfile rebuilt after one file copied by the 6th step changed content"; }
build_touch_setup() { ensure_busybox "$1"; }
build_touch_measure() { build_measure "$1" "$2" touch build_touch; }
build_touch_cleanup() { build_forget "$1" - >/dev/null 2>&1 || true; tidy "$1"; }

# shellcheck shell=bash
# build_cold: 10-step Dockerfile (FROM, ENV, WORKDIR, 3 COPY, 2 RUN, EXPOSE, CMD), first build: image and build cache removed before each run.
# Times itself (build_measure in lib/build-common.sh): docker runs twice, classic builder
# and BuildKit, in one run.
# shellcheck source=../lib/build-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build-common.sh"

build_cold_describe() { echo "10-step Dockerfile (FROM, ENV, WORKDIR, 3 COPY, 2 RUN, EXPOSE, CMD), first build: image and build cache removed before each run"; }
build_cold_needs() { echo busybox; }
build_cold_rows() { build_rows build_cold "$1" "10-step Dockerfile (FROM, ENV, WORKDIR, 3 COPY, 2 RUN, EXPOSE, CMD), first build: image and build cache removed before each run"; }
build_cold_setup() { ensure_busybox "$1"; }
build_cold_measure() { build_measure "$1" "$2" cold build_cold; }
build_cold_cleanup() { build_forget "$1" - >/dev/null 2>&1 || true; tidy "$1"; }

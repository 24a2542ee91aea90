#!/usr/bin/env bash
# Set-up command 2: runs the whole test suite (unit tests of every crate and the end-to-end
# tests that drive the built binary as root), after lint and format checks.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the test suite must run as root" >&2; exit 1; }

scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --locked --all-targets -- -D warnings
echo "==> cargo nextest (workspace)"
cargo nextest run --locked --workspace --no-fail-fast --profile ci

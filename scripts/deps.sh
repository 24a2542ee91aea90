#!/usr/bin/env bash
# Installs what berth needs to build and test on Debian 12: system packages and the Rust
# toolchain components. Idempotent and quick when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config        # cc for bundled SQLite and zstd
  libseccomp-dev                    # seccomp for the container runtime
  busybox-static                    # the built-in default image and the tests' base image
  skopeo                            # interop tests (docker-archive / OCI layout)
  docker-registry                   # a local registry for pull/push tests
  iproute2 nftables                 # container networking
  hyperfine jq curl ca-certificates # benchmarks and scripts
  crun runc                         # external OCI runtimes (--runtime, benchmarks)
  tini                              # static init for --init (/usr/bin/tini-static)
  procps psmisc                     # ps/pgrep for tests and benchmarks
  apache2-utils openssl             # registry tests: htpasswd (bcrypt), test CAs and tokens
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's docker-registry package starts a registry on :5000 at install; tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

if ! command -v cargo >/dev/null; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "==> installing the Rust toolchain with rustup"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true
fi
if ! command -v cargo-nextest >/dev/null; then
  echo "==> installing cargo-nextest"
  cargo install --locked cargo-nextest >/dev/null
fi

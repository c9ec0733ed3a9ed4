#!/usr/bin/env bash
# Installs what this project needs on Debian 12 (as root, or with sudo available) and builds it.
# Safe to run again: it installs only what is missing.
#   scripts/setup.sh [cargo build arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  # build tools; clang/libclang for the OpenCV bindings
  build-essential pkg-config clang libclang-dev curl ca-certificates git openssl
  # vision
  libopencv-dev
  # media pipelines: core, plugins (compositor in -base, x264enc in -ugly, H.264 decoding in
  # -libav, the Pango text overlay in gstreamer1.0-x)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x
  # Japanese text on screen, laid out and drawn by Pango with cairo
  fonts-noto-cjk libpango1.0-dev
  # the external broker the tests also run against
  mosquitto mosquitto-clients
)
# The test suite (a build with --tests) also drives the console in a real browser: headless
# Chromium from Node.js (tests/browser), and checks /metrics and the alert rules with
# Prometheus's promtool. The run command does not need them.
browser_test=0
for arg in "$@"; do [ "$arg" = --tests ] && browser_test=1; done
if [ "$browser_test" -eq 1 ]; then
  APT_PACKAGES+=(chromium nodejs prometheus)
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  as_root apt-get update -q
  # The mosquitto package would start a system broker on port 1883; the project starts its own.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "Debian packages: all present"
fi

# The console's browser test drives Chromium with playwright-core (no browser download). npm
# only when missing: Debian's npm conflicts with a NodeSource nodejs that bundles its own.
if [ "$browser_test" -eq 1 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  fi
  if [ ! -d tests/browser/node_modules/playwright-core ] \
    || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    say "installing the browser test's npm packages (tests/browser)"
    npm ci --prefix tests/browser --no-audit --no-fund
  fi
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
  say "installing the Rust toolchain with rustup (Debian's rustc is too old for edition 2024)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
  export PATH="$HOME/.cargo/bin:$PATH"
fi
rust_minor=$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "$rust_minor" -lt 95 ]; then
  say "rustc $(rustc --version) is older than 1.95; run: rustup update stable"
  exit 1
fi

say "building ($*)"
cargo build --locked "$@"

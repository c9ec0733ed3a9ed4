#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, property and
# end-to-end tests with real brokers and processes). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --workspace --bins --tests
export PATH="$HOME/.cargo/bin:$PATH"
echo "==> tests" >&2
# One build profile for everything: the end-to-end tests run the binaries just built.
cargo test --locked --workspace

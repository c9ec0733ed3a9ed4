#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, property and
# end-to-end tests with real brokers and processes). CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# CI builds once, from a clean clone: incremental caches would only take disk.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
bash scripts/setup.sh --workspace --bins --tests
export PATH="$HOME/.cargo/bin:$PATH"
echo "==> tests" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One build profile for everything: the end-to-end tests run the binaries just built.
set +e
cargo test --locked --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole suite (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1); if ($i ~ /^ignored;?$/) s += $(i-1) } }
     END { printf "\nsummary: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"

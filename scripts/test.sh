#!/usr/bin/env bash
# Sets up (first time only), builds and runs the whole test suite: unit tests, the Rust
# end-to-end tests against the real binary, and the browser tests with the official WebSDK.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/setup.sh
cargo build --locked --workspace --all-targets
cargo test --locked --workspace
scripts/browser-tests.sh
echo "all tests passed"

#!/usr/bin/env bash
# Sets up (first time only), builds and runs ferrophone on its embedded default
# configuration. Arguments go to the server, e.g. scripts/run.sh --set log.format=json
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
cargo build --release --locked --manifest-path "$ROOT/Cargo.toml" --bin ferrophone
exec "${CARGO_TARGET_DIR:-$ROOT/target}/release/ferrophone" "$@"

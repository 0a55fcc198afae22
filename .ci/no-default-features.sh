#!/usr/bin/env bash
# Usage: bash .ci/no-default-features.sh [CARGO ARGS...]
# (default: test --no-default-features). Runs cargo on a copy of the crate
# without its self dev-dependency. That dev-dependency turns every driver feature on
# for the tests, so the README's plain `cargo test` runs the tokio, http,
# axum and client tests; but cargo unifies it into every build of the
# tests, so it would also turn the defaults back on here. The copy keeps
# the core's own tests honest without `std`, deflate and simdutf8.
set -euo pipefail
cd "$(dirname "$0")/.."
copy=target/no-default-features
rm -rf "$copy"
mkdir -p "$copy"
cp -r Cargo.toml Cargo.lock README.md src tests examples "$copy/"
# The copy is a workspace of its own crate only (no benches, no h3), without the
# line that depends on itself.
sed -i -e 's/^members = \[.*\]$/members = ["."]/' \
    -e '/^wscore = { path = "."/d' "$copy/Cargo.toml"
grep -q '^wscore = ' "$copy/Cargo.toml" && { echo "the self dev-dependency is still in the copy"; exit 1; }
if [ "$#" -eq 0 ]; then
    set -- test --no-default-features
fi
CARGO_TARGET_DIR="$PWD/target" cargo "$@" --manifest-path "$copy/Cargo.toml"

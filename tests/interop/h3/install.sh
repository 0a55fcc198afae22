#!/usr/bin/env bash
# What WebSocket over HTTP/3 needs on a fresh machine. quiche's TLS is
# BoringSSL, which boring-sys builds with cmake and binds with bindgen
# (libclang): both must be there before anything compiles the wscore-h3
# member, `cargo clippy --workspace` included. Then aioquic and wsproto
# (pinned in requirements.txt) into a venv under target/interop-h3/ (or
# $WSCORE_H3_INTEROP_DIR) for run.sh.
#
# `--system-only`: the Debian packages only (what the clippy step needs).
# Logs go to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
log() { printf '== h3 install: %s\n' "$*" >&2; }

# What bindgen loads: libclang.so or libclang-N.so, not libclang-cpp.so
# (the C++ library other packages pull in, which bindgen cannot use).
have_libclang() {
    compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null ||
        compgen -G '/usr/lib/x86_64-linux-gnu/libclang.so*' >/dev/null ||
        compgen -G '/usr/lib/x86_64-linux-gnu/libclang-[0-9]*.so*' >/dev/null
}
have_venv() { python3 -c 'import ensurepip' 2>/dev/null; }

missing=()
command -v cmake >/dev/null || missing+=(cmake)
have_libclang || missing+=(libclang-dev)
command -v openssl >/dev/null || missing+=(openssl)
[ "${1:-}" = --system-only ] || have_venv || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
[ "${1:-}" = --system-only ] && exit 0

WORK="${WSCORE_H3_INTEROP_DIR:-$ROOT/target/interop-h3}"
VENV="$WORK/venv"
# Reused when it has exactly the pinned versions.
want="$(grep -v '^#' "$HERE/requirements.txt" | grep . | sort)"
if [ -x "$VENV/bin/pip" ] &&
    [ -z "$(comm -23 <(echo "$want") <("$VENV/bin/pip" freeze 2>/dev/null | sort))" ]; then
    :
else
    log "installing $(echo $want) into $VENV"
    rm -rf "$VENV"
    mkdir -p "$WORK"
    python3 -m venv "$VENV"
    PIP_DISABLE_PIP_VERSION_CHECK=1 timeout 300 "$VENV/bin/pip" install --quiet \
        -r "$HERE/requirements.txt"
fi

#!/usr/bin/env bash
# Install Autobahn|Testsuite 0.8.2 (Python 2.7) into a cache directory outside
# the repository. Idempotent: does nothing when a previous install completed
# with the same pins (marker file) and `wstest` still starts.
#
# Environment:
#   WSCORE_AUTOBAHN_DIR  install root (default: $HOME/.cache/wscore-autobahn)
#   WSCORE_PYTHON2       Python 2.7 interpreter
#                        (default: $HOME/.pyenv/versions/2.7.18/bin/python)
#
# On success prints nothing else but a final "autobahn: ..." line; the venv's
# interpreter is "$WSCORE_AUTOBAHN_DIR/venv/bin/python".
set -euo pipefail

AB_DIR="${WSCORE_AUTOBAHN_DIR:-$HOME/.cache/wscore-autobahn}"
PY2="${WSCORE_PYTHON2:-$HOME/.pyenv/versions/2.7.18/bin/python}"
VENV="$AB_DIR/venv"
VENV_TOOL_DIR="$AB_DIR/virtualenv-pkg"
MARKER="$AB_DIR/.installed"

# Everything pinned: later releases of these packages dropped Python 2.
PINS=(
    "autobahntestsuite==0.8.2"
    "autobahn[accelerate,twisted]==0.10.9"
    "txaio==2.1.0"
    "Twisted==19.10.0"
    "zope.interface==4.6.0"
    "pyOpenSSL==19.1.0"
    "cryptography==3.3.2"
    "service-identity==18.1.0"
    "klein==17.10.0"
    "Werkzeug==1.0.1"
    "Jinja2==2.11.3"
    "MarkupSafe==1.1.1"
    "unittest2==1.1.0"
    "six==1.16.0"
)
# The marker records the pins so that changing them forces a reinstall.
WANT_MARKER="$(printf '%s\n' "${PINS[@]}")"

export PIP_NO_INPUT=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
# pip on Python 2.7 warns about end of life on every call; keep logs readable.
export PYTHONWARNINGS="ignore::DeprecationWarning"

wstest_ok() {
    [ -x "$VENV/bin/python" ] &&
        "$VENV/bin/python" -c 'import autobahntestsuite.wstest, autobahntestsuite.case' \
            >/dev/null 2>&1
}

if [ -f "$MARKER" ] && [ "$(cat "$MARKER")" = "$WANT_MARKER" ] && wstest_ok; then
    echo "autobahn: already installed in $VENV"
    exit 0
fi

if [ ! -x "$PY2" ]; then
    echo "autobahn: Python 2.7 interpreter not found at $PY2 (set WSCORE_PYTHON2)" >&2
    exit 1
fi
if ! "$PY2" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)'; then
    echo "autobahn: $PY2 is not Python 2.7" >&2
    exit 1
fi

start=$(date +%s)
echo "autobahn: installing Autobahn|Testsuite 0.8.2 into $AB_DIR"
mkdir -p "$AB_DIR"
rm -f "$MARKER"

# pip for the 2.7 interpreter (bootstrap with ensurepip if it is missing).
if ! "$PY2" -m pip --version >/dev/null 2>&1; then
    echo "autobahn: pip missing for $PY2, running ensurepip"
    "$PY2" -m ensurepip --user
fi

# Python 2.7 has no venv module: fetch the last virtualenv that still creates
# Python 2 environments into a private directory and run it from there.
if ! PYTHONPATH="$VENV_TOOL_DIR" "$PY2" -c 'import virtualenv' >/dev/null 2>&1; then
    rm -rf "$VENV_TOOL_DIR"
    "$PY2" -m pip install --quiet --no-input --target "$VENV_TOOL_DIR" "virtualenv==20.15.1"
fi

rm -rf "$VENV"
PYTHONPATH="$VENV_TOOL_DIR" "$PY2" -m virtualenv --quiet "$VENV"

"$VENV/bin/python" -m pip install --quiet --no-input --prefer-binary "${PINS[@]}"

if ! wstest_ok; then
    echo "autobahn: install finished but autobahntestsuite does not import" >&2
    "$VENV/bin/python" -c 'import autobahntestsuite.wstest' >&2 || true
    exit 1
fi

printf '%s' "$WANT_MARKER" >"$MARKER"
echo "autobahn: installed in $VENV ($(($(date +%s) - start)) s)"

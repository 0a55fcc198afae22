#!/usr/bin/env bash
# What the chat's cluster tests need from the system: Debian's
# redis-server (tests/chat_cluster.rs, tests/browser/cluster.sh) and nginx
# (the load balancer in tests/browser/cluster.sh). Installs only what is
# missing; `.ci/run` runs it before the tests.
set -euo pipefail
PACKAGES=()
command -v redis-server >/dev/null || PACKAGES+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || PACKAGES+=(nginx)
if [ "${#PACKAGES[@]}" -gt 0 ]; then
    echo "== cluster: installing ${PACKAGES[*]} from Debian" >&2
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi
redis-server --version

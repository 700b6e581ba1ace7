#!/usr/bin/env bash
# Installs what the integration tests need on a Debian/Ubuntu machine:
#   - Dovecot (dovecot-imapd, which pulls in dovecot-core): the tests start
#     throwaway daemons and a preauthenticated imap on stdin/stdout;
#   - openssl: the tests make their own CA and server certificate;
#   - microsocks and tinyproxy: real SOCKS5 and HTTP CONNECT proxies that
#     the proxy tests start on loopback ports;
#   - isync (mbsync): the peer of `imap sync` in the side-by-side benchmark
#     (scripts/bench-compare.sh sync).
# Quiet and idempotent: does nothing when everything is already there.
set -euo pipefail

packages=()
if [[ ! -x /usr/sbin/dovecot || ! -x /usr/lib/dovecot/imap ]]; then
    packages+=(dovecot-imapd)
fi
if ! command -v openssl >/dev/null 2>&1; then
    packages+=(openssl)
fi
for proxy in microsocks tinyproxy; do
    if [[ ! -x /usr/bin/$proxy ]]; then
        packages+=("$proxy")
    fi
done
if [[ ! -x /usr/bin/mbsync ]]; then
    packages+=(isync)
fi
if [[ ${#packages[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "install-deps.sh: need root or sudo to install: ${packages[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps.sh: installing ${packages[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Show apt's output only when something goes wrong.
if ! { "${sudo[@]}" apt-get update -qq &&
       "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq "${packages[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-deps.sh: failed to install ${packages[*]}" >&2
    exit 1
fi

for f in /usr/sbin/dovecot /usr/lib/dovecot/imap; do
    if [[ ! -x $f ]]; then
        echo "install-deps.sh: $f is still missing after installing ${packages[*]}" >&2
        exit 1
    fi
done
for f in /usr/bin/microsocks /usr/bin/tinyproxy /usr/bin/mbsync; do
    if [[ ! -x $f ]]; then
        echo "install-deps.sh: $f is still missing after installing ${packages[*]}" >&2
        exit 1
    fi
done
command -v openssl >/dev/null 2>&1 || {
    echo "install-deps.sh: openssl is still missing" >&2
    exit 1
}

#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks need, and only what is missing:
# Debian packages (when running as root) and the npm dependencies from package-lock.json.
# Safe to run again and again; `npm test` and `npm run demo` call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libsystemd-dev pkg-config          # build the native sd-notify and systemd-journald modules
  polkitd                            # the real polkitd the nspawn tests authorize non-root callers with
  podman                             # the Podman API service in front of the bound store
  docker-registry apache2-utils      # loopback OCI registry, htpasswd for the auth cases
  busybox-static                     # a usable root inside the generated test images
  dbus                               # private system-type dbus-daemon, busctl comes with systemd
  systemd systemd-container          # journald, busctl, systemd-analyze, systemd-nspawn
  util-linux bsdutils                # setpriv (non-root callers), script (TTY tests)
  strace coreutils                   # the fuzz suite proves no file outside a root is opened; stdbuf
  rpm                                # rpmbuild and rpm -qp: npm run package makes and checks the .rpm
  init-system-helpers                # deb-systemd-helper/-invoke: the .deb's scripts, run in nspawn
  cockpit-ws cockpit-bridge          # the Cockpit page's browser test: cockpit-ws --local-session, the bridge
  cockpit-system                     # Cockpit's shell (navigation, frames) around the page
  chromium                           # headless browser for that test (driven by playwright-core)
  ostree e2fsprogs curl              # real deployments for the bootc host e2e (chattr); the Podman socket
  pandoc man-db                      # build the manual pages (npm run build:man), render them with man -l
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  [[ "$pkg" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them with: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp=node_modules/.bound-imaged-setup
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

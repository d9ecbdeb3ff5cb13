#!/usr/bin/env bash
# Installs bound-imaged the way a distribution package ships it (what a packager runs after
# `npm ci && npm run build`, which also builds the manual pages into dist/man):
#
#   $PKGLIBDIR       /usr/lib/bound-imaged/{package.json,dist/src,node_modules}  the built daemon and
#                    client with their production dependencies only (native modules as built here);
#                    with BUNDLE=DIR instead the self-contained tree of `npm run bundle` (bound-imaged.js,
#                    bound-images.js, chunk-*.js, native/*.node: no node_modules); in both cases
#                    /usr/lib/bound-imaged/podman-store-service  the Podman unit's ExecStart
#   $BINDIR          /usr/bin/bound-imaged, /usr/bin/bound-images                 small exec wrappers
#   $UNITDIR         /usr/lib/systemd/system/bound-imaged*.{service,socket,timer}
#   $PRESETDIR       /usr/lib/systemd/system-preset/80-bound-imaged.preset  what `systemctl preset` enables
#   $DBUS_SERVICEDIR /usr/share/dbus-1/system-services/org.bootc.BoundImages.service
#   $DBUS_POLICYDIR  /usr/share/dbus-1/system.d/org.bootc.BoundImages.conf
#   $DBUS_IFACEDIR   /usr/share/dbus-1/interfaces/org.bootc.BoundImages.xml
#   $POLKIT_ACTIONDIR /usr/share/polkit-1/actions/org.bootc.BoundImages.policy
#   $COCKPITDIR      /usr/share/cockpit/bound-images/  the Cockpit page (built by npm run build:cockpit)
#   $SYSCONFDIR      /etc/bound-imaged/config.ini  commented defaults; an existing one is kept
#   $DOCDIR          /usr/share/doc/bound-imaged/
#   $MANDIR          /usr/share/man/man{1,5,8}/  bound-images.1, bound-imaged.conf.5, bound-imaged.8
#   $CATALOGDIR      /usr/lib/systemd/catalog/bound-imaged.catalog  journal catalog (journalctl -x)
#   $BASHCOMPDIR     /usr/share/bash-completion/completions/bound-images
#
# Every location is a variable (defaults above, derived from PREFIX=/usr and SYSCONFDIR=/etc);
# DESTDIR is prepended to all of them and never written into the installed files. Paths inside
# the units and the D-Bus activation file are rewritten when they differ from the defaults.
# Nothing is enabled or started: that is the package's post-install step (docs/install.md).
#
# usage: [DESTDIR=DIR] [PREFIX=/usr] [SYSCONFDIR=/etc] [NODE=/usr/bin/node] [BUNDLE=build/bundle] scripts/install.sh
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SYSCONFDIR=${SYSCONFDIR:-/etc}
BINDIR=${BINDIR:-$PREFIX/bin}
PKGLIBDIR=${PKGLIBDIR:-$PREFIX/lib/bound-imaged}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
PRESETDIR=${PRESETDIR:-$PREFIX/lib/systemd/system-preset}
DBUS_SERVICEDIR=${DBUS_SERVICEDIR:-$PREFIX/share/dbus-1/system-services}
DBUS_POLICYDIR=${DBUS_POLICYDIR:-$PREFIX/share/dbus-1/system.d}
DBUS_IFACEDIR=${DBUS_IFACEDIR:-$PREFIX/share/dbus-1/interfaces}
POLKIT_ACTIONDIR=${POLKIT_ACTIONDIR:-$PREFIX/share/polkit-1/actions}
COCKPITDIR=${COCKPITDIR:-$PREFIX/share/cockpit}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/bound-imaged}
MANDIR=${MANDIR:-$PREFIX/share/man}
CATALOGDIR=${CATALOGDIR:-$PREFIX/lib/systemd/catalog}
BASHCOMPDIR=${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}
NODE=${NODE:-/usr/bin/node}
PODMAN=${PODMAN:-/usr/bin/podman}
BUNDLE=${BUNDLE:-}

die() {
  echo "install: $*" >&2
  exit 1
}

for var in PREFIX SYSCONFDIR BINDIR PKGLIBDIR UNITDIR PRESETDIR DBUS_SERVICEDIR DBUS_POLICYDIR DBUS_IFACEDIR \
  POLKIT_ACTIONDIR COCKPITDIR DOCDIR MANDIR CATALOGDIR BASHCOMPDIR NODE PODMAN; do
  [[ ${!var} == /* ]] || die "$var must be an absolute path, got '${!var}'"
  [[ ${!var} != *'|'* ]] || die "$var must not contain '|': '${!var}'"
done
if [[ -n $DESTDIR && $DESTDIR != /* ]]; then
  DESTDIR=$(pwd)/$DESTDIR
fi

if [[ -n $BUNDLE ]]; then
  BUNDLE=$(cd "$BUNDLE" 2>/dev/null && pwd) || die "BUNDLE: no such directory"
  for built in bound-imaged.js bound-images.js package.json; do
    [[ -f $BUNDLE/$built ]] || die "$BUNDLE/$built is missing: run 'npm run bundle' first"
  done
  DAEMON_JS=bound-imaged.js
  CLIENT_JS=bound-images.js
else
  for built in dist/src/main.js dist/src/cli/main.js; do
    [[ -f $SRC/$built ]] || die "$SRC/$built is missing: run 'npm ci && npm run build' first"
  done
  [[ -d $SRC/node_modules ]] || die "$SRC/node_modules is missing: run 'npm ci' first"
  DAEMON_JS=dist/src/main.js
  CLIENT_JS=dist/src/cli/main.js
fi
# The built Cockpit page (`npm run build` runs build:cockpit): COCKPIT_PAGE, else a cockpit/ beside
# the bundle (a source tarball carries it there), else the checkout's dist/.
COCKPIT_PAGE=${COCKPIT_PAGE:-}
if [[ -z $COCKPIT_PAGE && -n $BUNDLE && -d $BUNDLE/../cockpit/bound-images ]]; then
  COCKPIT_PAGE=$(cd "$BUNDLE/../cockpit/bound-images" && pwd)
fi
COCKPIT_PAGE=${COCKPIT_PAGE:-$SRC/dist/cockpit/bound-images}
[[ -f $COCKPIT_PAGE/bound-images.js ]] || die "$COCKPIT_PAGE/bound-images.js is missing: run 'npm run build' first"
# The manual pages are built by `npm run build` (or `npm run build:man`), whichever tree is installed.
compgen -G "$SRC/dist/man/*.[1-8]" >/dev/null || die "$SRC/dist/man has no manual pages: run 'npm run build:man' first"

# The installed files name the installed paths: rewrite the defaults the sources carry.
substitute() {
  sed -e "s|/usr/bin/bound-imaged|$BINDIR/bound-imaged|g" \
    -e "s|/usr/bin/bound-images|$BINDIR/bound-images|g" \
    -e "s|/usr/bin/podman|$PODMAN|g" \
    -e "s|/etc/bound-imaged/|$SYSCONFDIR/bound-imaged/|g" \
    -e "s|/usr/lib/bound-imaged/|$PKGLIBDIR/|g" \
    -e "s|/usr/share/doc/bound-imaged|$DOCDIR|g" \
    "$1"
}

put() { # put MODE SOURCE TARGET-PATH (without DESTDIR)
  install -D -m "$1" "$2" "$DESTDIR$3"
}

put_substituted() { # put_substituted MODE SOURCE TARGET-PATH
  local tmp
  tmp=$(mktemp)
  substitute "$2" >"$tmp"
  install -D -m "$1" "$tmp" "$DESTDIR$3"
  rm -f "$tmp"
}

wrapper() { # wrapper NAME ENTRY-JS DESCRIPTION
  local tmp
  tmp=$(mktemp)
  printf '#!/bin/sh\n# %s (installed by bound-imaged scripts/install.sh)\nexec %s %s "$@"\n' \
    "$3" "$NODE" "$PKGLIBDIR/$2" >"$tmp"
  install -D -m 0755 "$tmp" "$DESTDIR$BINDIR/$1"
  rm -f "$tmp"
}

# 1. The application: package.json (it makes dist/ ESM), the compiled sources, production deps;
#    or the bundled tree as it is.
app=$DESTDIR$PKGLIBDIR
rm -rf "$app"
install -d -m 0755 "$app"
if [[ -n $BUNDLE ]]; then
  tar -C "$BUNDLE" --owner=0 --group=0 --mode='u=rwX,go=rX' -cf - . | tar -C "$app" --no-same-owner -xf -
  echo "install: the bundled tree $BUNDLE into $app"
else
  install -m 0644 "$SRC/package.json" "$app/package.json"
  tar -C "$SRC" --exclude='*.test.js' --exclude='*.test.js.map' --exclude='*.d.ts' \
    --owner=0 --group=0 --mode='u=rwX,go=rX' -cf - dist/src | tar -C "$app" --no-same-owner -xf -

  # Production dependencies: the closure of package.json's dependencies in package-lock.json, resolved
  # the way Node resolves them (nested node_modules first). Optional native modules that npm was not
  # allowed to build (allowScripts) are left out: their parents work without them.
  node --input-type=module - "$SRC" "$app" <<'EOF'
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const [src, app] = process.argv.slice(2);
const lock = JSON.parse(readFileSync(join(src, 'package-lock.json'), 'utf8'));
const pkgs = lock.packages ?? {};
const resolve = (from, name) => {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const at = `${dir ? dir + '/' : ''}node_modules/${name}`;
    if (pkgs[at]) return at;
    if (dir === '') return undefined;
  }
};
const usable = (at) => {
  const entry = pkgs[at];
  if (!existsSync(join(src, at, 'package.json'))) return false;
  return !(entry.optional && entry.hasInstallScript && !existsSync(join(src, at, 'build')));
};
const keep = new Set();
const queue = [''];
while (queue.length > 0) {
  const at = queue.shift();
  const entry = pkgs[at];
  const wanted = [
    ...Object.keys(entry.dependencies ?? {}).map((n) => [n, true]),
    ...Object.keys(entry.optionalDependencies ?? {}).map((n) => [n, false]),
  ];
  for (const [name, required] of wanted) {
    const dep = resolve(at, name);
    if (dep === undefined || !usable(dep)) {
      if (required) throw new Error(`install: ${at || 'package.json'} needs ${name}, not installed in ${src}`);
      continue;
    }
    if (!keep.has(dep)) {
      keep.add(dep);
      queue.push(dep);
    }
  }
}
for (const at of [...keep].sort()) {
  const from = join(src, at);
  cpSync(from, join(app, at), {
    recursive: true,
    dereference: false,
    // Nested packages are copied as packages of their own (when kept); build intermediates are not shipped.
    filter: (p) => !(p === join(from, 'node_modules')) && !/\/build\/(Release|Debug)\/(obj\.target|\.deps)(\/|$)/.test(p),
  });
}
console.log(`install: ${keep.size} production packages into ${app}/node_modules`);
EOF
fi

# The configuration's default locations (src/config/paths.ts) follow PKGLIBDIR and SYSCONFDIR, as a
# configure step would set them for a C daemon: rewritten in the installed code that holds them
# (dist/src/config/paths.js, or the bundle's file). Source maps keep the defaults, which is harmless.
while IFS= read -r js; do
  substitute "$js" >"$js.new"
  mv "$js.new" "$js"
done < <(grep -rlF --include='*.js' --exclude-dir=node_modules '/etc/bound-imaged/config.d' "$app")

# 2. The commands.
wrapper bound-imaged "$DAEMON_JS" 'bound-imaged: the daemon of org.bootc.BoundImages'
wrapper bound-images "$CLIENT_JS" 'bound-images: the client of org.bootc.BoundImages'

# 3. systemd units (nothing enabled here), and the Podman unit's ExecStart helper.
put_substituted 0755 "$SRC/systemd/podman-store-service.sh" "$PKGLIBDIR/podman-store-service"
for unit in "$SRC"/systemd/*.service "$SRC"/systemd/*.socket "$SRC"/systemd/*.timer "$SRC"/systemd/*.path; do
  put_substituted 0644 "$unit" "$UNITDIR/$(basename "$unit")"
done

put 0644 "$SRC/systemd/bound-imaged.preset" "$PRESETDIR/80-bound-imaged.preset"

# 4. D-Bus: activation file, bus policy, introspection data.
put_substituted 0644 "$SRC/dbus/org.bootc.BoundImages.service" "$DBUS_SERVICEDIR/org.bootc.BoundImages.service"
put 0644 "$SRC/dbus/org.bootc.BoundImages.conf" "$DBUS_POLICYDIR/org.bootc.BoundImages.conf"
put 0644 "$SRC/dbus/org.bootc.BoundImages.xml" "$DBUS_IFACEDIR/org.bootc.BoundImages.xml"

# 4b. polkit: the actions of Upgrade and Job.Cancel for non-root callers (the daemon asks polkit).
put_substituted 0644 "$SRC/polkit/org.bootc.BoundImages.policy" "$POLKIT_ACTIONDIR/org.bootc.BoundImages.policy"

# 5. The commented default configuration: an administrator's edited file is never overwritten.
config=$SYSCONFDIR/bound-imaged/config.ini
if [[ -e $DESTDIR$config ]]; then
  echo "install: keeping existing $DESTDIR$config"
else
  put 0644 "$SRC/config/config.ini" "$config"
fi

# 6. The Cockpit page: a package of static files, found by Cockpit's bridge under $COCKPITDIR.
for f in manifest.json index.html bound-images.js bound-images.css; do
  put 0644 "$COCKPIT_PAGE/$f" "$COCKPITDIR/bound-images/$f"
done

# 7. Documentation.
for doc in "$SRC"/README.md "$SRC"/docs/*.md; do
  [[ -f $doc ]] && put 0644 "$doc" "$DOCDIR/$(basename "$doc")"
done
for image in "$SRC"/docs/images/*.png; do # the pictures the pages show (images/NAME.png)
  [[ -f $image ]] && put 0644 "$image" "$DOCDIR/images/$(basename "$image")"
done

# 7. Manual pages (built by `npm run build` from docs/man/), the journal catalog and shell completion.
for page in "$SRC"/dist/man/*.[1-8]; do
  put_substituted 0644 "$page" "$MANDIR/man${page##*.}/$(basename "$page")"
done
put_substituted 0644 "$SRC/systemd/bound-imaged.catalog" "$CATALOGDIR/bound-imaged.catalog"
put 0644 "$SRC/scripts/completion/bound-images.bash" "$BASHCOMPDIR/bound-images"

echo "install: bound-imaged installed under ${DESTDIR:-/} (PREFIX=$PREFIX, SYSCONFDIR=$SYSCONFDIR)"

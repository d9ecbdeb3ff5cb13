#!/usr/bin/env bash
# Builds what a distribution or an image author consumes, from a built checkout (`npm run package`
# runs setup and build first), all under $OUT (default build/, git-ignored):
#
#   $OUT/bundle/                      the self-contained runtime tree (scripts/bundle.ts)
#   $OUT/stage/                       scripts/install.sh BUNDLE=$OUT/bundle DESTDIR=$OUT/stage: exactly
#                                     what both packages contain
#   $OUT/image-root/                  the stage plus the units' enablement links: what
#                                     packaging/containerfile/Containerfile.copy COPYs onto /
#   $OUT/packages/bound-imaged_V-R_ARCH.deb      dpkg-deb of the stage + packaging/deb scripts
#   $OUT/packages/bound-imaged-V-R.ARCH.rpm      rpmbuild of packaging/rpm/bound-imaged.spec
#   $OUT/packages/bound-imaged-V.tar.gz          the spec's Source0: the checkout + build/bundle + dist/man
#
# Both packages are built from install.sh's output, never from a second list of files.
# usage: [OUT=build] [VERSION=<package.json>] [RELEASE=1] [FORMATS='deb rpm'] [MAINTAINER='…'] scripts/package.sh
set -euo pipefail
export LC_ALL=C

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$SRC/build}
[[ $OUT == /* ]] || OUT=$(pwd)/$OUT
VERSION=${VERSION:-$(node -p "require('$SRC/package.json').version")}
RELEASE=${RELEASE:-1}
MAINTAINER=${MAINTAINER:-bound-imaged developers <bound-imaged@localhost>}
FORMATS=${FORMATS-deb rpm}

die() {
  echo "package: $*" >&2
  exit 1
}

[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "VERSION '$VERSION' is not a package version"
[[ $RELEASE =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "RELEASE '$RELEASE' is not a package release"
[[ -f $SRC/dist/scripts/bundle.js ]] || die "$SRC/dist is not built: run 'npm run build' first"
for format in $FORMATS; do
  [[ $format == deb || $format == rpm ]] || die "FORMATS: '$format' is neither deb nor rpm"
done
for tool in dpkg-deb rpmbuild; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup.sh installs it)"
done

mkdir -p "$OUT/packages"

# 1. The bundle, stamped with the package's version (the daemon's Version property).
node "$SRC/dist/scripts/bundle.js" "$OUT/bundle" | tail -1
node -e '
  const f = process.argv[1], p = JSON.parse(require("fs").readFileSync(f, "utf8"));
  p.version = process.argv[2];
  require("fs").writeFileSync(f, JSON.stringify(p, null, 2) + "\n");
' "$OUT/bundle/package.json" "$VERSION"
NODE_MAJOR=$(node -p "require('$OUT/bundle/package.json').nodeMajor")
NODE_ABI=$(node -p "require('$OUT/bundle/package.json').nodeAbi")

# 2. The staged installation: the one list of files.
rm -rf "$OUT/stage"
BUNDLE="$OUT/bundle" DESTDIR="$OUT/stage" bash "$SRC/scripts/install.sh" | tail -1

# 2b. The tree an image build COPYs onto / (packaging/containerfile/Containerfile.copy): the staged
#     files plus the links `systemctl enable` would make for the units with [Install].
rm -rf "$OUT/image-root"
cp -a "$OUT/stage" "$OUT/image-root"
for unit in "$OUT"/stage/usr/lib/systemd/system/*; do
  for target in $(sed -n '/^\[Install\]/,/^\[/ s/^WantedBy=//p' "$unit"); do
    install -d -m 0755 "$OUT/image-root/etc/systemd/system/$target.wants"
    ln -sfn "/usr/lib/systemd/system/$(basename "$unit")" "$OUT/image-root/etc/systemd/system/$target.wants/$(basename "$unit")"
  done
done

# Units of the package: all are stopped on removal; those with [Install] are enabled.
units_all=()
units_enable=()
for unit in "$OUT"/stage/usr/lib/systemd/system/*; do
  name=$(basename "$unit")
  units_all+=("$name")
  grep -q '^\[Install\]' "$unit" && units_enable+=("$name")
done
((${#units_all[@]})) || die "install.sh staged no systemd units"
# Stop timers, sockets and path units before the services they start.
stop_order=$(printf '%s\n' "${units_all[@]}" | awk '/\.(timer|socket|path)$/ { print 0, $0; next } { print 1, $0 }' | sort | cut -d' ' -f2 | tr '\n' ' ')
restart_units=$(printf '%s\n' "${units_all[@]}" | grep '\.service$' | grep -v -e '-reconcile\.service$' -e '-staged\.service$' | tr '\n' ' ')

want() { [[ " $FORMATS " == *" $1 "* ]]; }

# 3. The Debian package.
build_deb() {
  deb_arch=$(dpkg --print-architecture)
  debroot="$OUT/deb/root"
  rm -rf "$OUT/deb"
  mkdir -p "$debroot"
  cp -a "$OUT/stage/." "$debroot/"
  install -d -m 0755 "$debroot/DEBIAN"
  fill() { # fill TEMPLATE: the @NAME@ placeholders of a packaging/deb file
    sed -e "s|@VERSION@|$VERSION-$RELEASE|g" -e "s|@ARCH@|$deb_arch|g" \
      -e "s|@MAINTAINER@|$MAINTAINER|g" -e "s|@NODE_MAJOR@|$NODE_MAJOR|g" \
      -e "s|@NODE_NEXT@|$((NODE_MAJOR + 1))|g" -e "s|@NODE_ABI@|$NODE_ABI|g" \
      -e "s|@INSTALLED_SIZE@|$(du -sk --exclude=DEBIAN "$debroot" | cut -f1)|g" \
      -e "s|@ENABLE_UNITS@|${units_enable[*]}|g" -e "s|@STOP_UNITS@|${stop_order% }|g" \
      -e "s|@RESTART_UNITS@|${restart_units% }|g" "$1"
  }
  fill "$SRC/packaging/deb/control.in" >"$debroot/DEBIAN/control"
  for script in postinst prerm postrm; do
    fill "$SRC/packaging/deb/$script" >"$debroot/DEBIAN/$script"
    chmod 0755 "$debroot/DEBIAN/$script"
  done
  (cd "$debroot" && find etc -type f 2>/dev/null | sed 's|^|/|' | sort) >"$debroot/DEBIAN/conffiles"
  [[ -s $debroot/DEBIAN/conffiles ]] || rm "$debroot/DEBIAN/conffiles"
  (cd "$debroot" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$debroot/DEBIAN/md5sums"
  deb="$OUT/packages/bound-imaged_${VERSION}-${RELEASE}_${deb_arch}.deb"
  dpkg-deb -Zxz --root-owner-group --build "$debroot" "$deb" >/dev/null
  echo "package: $deb"
}

# 4. The RPM, from a source tarball of the checkout with the bundle in it.
build_rpm() {
  top="$OUT/rpm"
  rm -rf "$top"
  mkdir -p "$top"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
  tree="$top/bound-imaged-$VERSION"
  mkdir -p "$tree/build"
  if git -C "$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$SRC" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar --no-recursion --ignore-failed-read -cf - 2>/dev/null) |
      tar -C "$tree" -xf -
  else
    tar -C "$SRC" --exclude=./node_modules --exclude=./dist --exclude=./build --exclude=./.git -cf - . | tar -C "$tree" -xf -
  fi
  rm -rf "$tree/build"
  mkdir -p "$tree/build"
  cp -a "$OUT/bundle" "$tree/build/bundle"
  cp -a "$SRC/dist/cockpit" "$tree/build/cockpit" # the built Cockpit page, found beside the bundle
  # The manual pages, built like the bundle (npm run build, pandoc), so %build needs no pandoc.
  mkdir -p "$tree/dist"
  cp -a "$SRC/dist/man" "$tree/dist/man"
  tar -C "$top" --owner=0 --group=0 -czf "$top/SOURCES/bound-imaged-$VERSION.tar.gz" "bound-imaged-$VERSION"
  cp "$top/SOURCES/bound-imaged-$VERSION.tar.gz" "$OUT/packages/"
  rm -rf "$tree"
  # --nodeps: the build host's rpm database need not know BuildRequires (on Debian it is empty).
  rpmbuild -bb --nodeps --quiet --target "$(uname -m)" \
    --define "_topdir $top" --define "bi_version $VERSION" --define "bi_release $RELEASE" \
    --define "bi_node_major $NODE_MAJOR" "$SRC/packaging/rpm/bound-imaged.spec" >"$top/rpmbuild.log" 2>&1 ||
    die "rpmbuild failed: $(tail -20 "$top/rpmbuild.log")"
  rpm_file=$(find "$top/RPMS" -name "bound-imaged-$VERSION-$RELEASE*.rpm" | head -1)
  [[ -n $rpm_file ]] || die "rpmbuild made no package (see $top/rpmbuild.log)"
  cp "$rpm_file" "$OUT/packages/"
  echo "package: $OUT/packages/$(basename "$rpm_file")"
}

if want deb; then build_deb; fi
if want rpm; then build_rpm; fi

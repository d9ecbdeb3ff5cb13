#!/usr/bin/env bash
# Builds the manual pages from their markdown sources with pandoc:
#   docs/man/NAME.SECTION.md  →  OUT/NAME.SECTION   (roff, what man(1) reads)
# OUT defaults to dist/man; scripts/install.sh installs from there into $MANDIR/manSECTION/.
# Each source starts with a YAML block giving title, section, header and footer; the version in the
# footer comes from package.json, so a page always names the release it documents.
#
# usage: scripts/build-man.sh [OUT]
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/dist/man}

command -v pandoc >/dev/null || {
  echo "build-man: pandoc is missing (Debian: apt-get install pandoc)" >&2
  exit 1
}

version=$(node -p "require('$SRC/package.json').version")
mkdir -p "$OUT"
count=0
for page in "$SRC"/docs/man/*.md; do
  name=$(basename "$page" .md) # e.g. bound-imaged.8
  [[ $name =~ ^[a-z][a-z.-]*\.[1-8]$ ]] || {
    echo "build-man: $page: expected docs/man/NAME.SECTION.md" >&2
    exit 1
  }
  pandoc --standalone --from markdown-smart --to man \
    --metadata footer="bound-imaged $version" \
    --output "$OUT/$name" "$page"
  count=$((count + 1))
done
echo "build-man: $count manual pages in $OUT"

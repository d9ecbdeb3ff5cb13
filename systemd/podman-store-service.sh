#!/bin/sh
# The ExecStart of bound-imaged-podman.service (installed as /usr/lib/bound-imaged/podman-store-service):
# makes the bound image store writable for this service alone, points Podman at it with a state of
# its own, then runs the Podman command given (its API service).
#
# On a bootc host /usr/lib/bootc/storage is a link to /sysroot/ostree/bootc/storage (composefs backend:
# on to /sysroot/composefs/bootc/storage), and ostree mounts /sysroot read-only; bootc itself writes
# the store from a private mount namespace in which it remounts all of /sysroot read-write. Here the
# unit has its own mount namespace (PrivateMounts=yes), and in it only the store directory becomes a
# read-write bind mount of itself: /sysroot, the deployments and the ostree repository stay read-only
# for Podman too, and nothing changes in the host's mount namespace.
#
# Podman also keeps a database (of containers, pods and volumes: none here) in a "static dir", by
# default STORE/libpod when the store is given with --root, and records in it the root and runroot of
# the Podman that created it; a Podman on the same store with other values is refused ("database
# configuration mismatch"). bootc's Podman uses --root=/run/bootc/storage --runroot=/proc/self/fd/3.
# So the store is given here as the graphroot of a storage.conf of its own (the system's, with store,
# runroot and additional image stores replaced), and this service's database lives in its runtime
# directory: neither Podman refuses the other's store.
#
# usage: podman-store-service STORE PODMAN [ARG]...   (RUNTIME_DIRECTORY: default /run/bound-imaged/podman)
set -eu

say() { echo "podman-store-service: $*" >&2; }

if [ "$#" -lt 2 ]; then
  say "usage: podman-store-service STORE PODMAN [ARG]..."
  exit 2
fi
STORE=$1
shift
RUN=${RUNTIME_DIRECTORY:-/run/bound-imaged/podman}
case "$STORE$RUN" in
*'"'* | *'\'* | *'|'* | *'&'*)
  say "the store and runtime paths must not contain '\"', '\\', '|' or '&'"
  exit 2
  ;;
esac

# Never touch the host's mounts: a mount namespace of our own is required (the unit's PrivateMounts=yes).
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
  say "refusing to change mounts in the host's mount namespace: run it with PrivateMounts=yes"
  exit 1
fi
# ... and mounts made here must not reach the host through shared propagation.
mount --make-rslave /

# writable DIR: whether a file can be created in DIR (access(2) reports a read-only mount as EROFS).
writable() { [ -w "$1" ]; }

# rw_bind DIR: DIR becomes a bind mount of itself whose read-only flag is cleared (the file system
# itself is writable: ostree's read-only /sysroot is a read-only mount of a writable one).
rw_bind() {
  mount --bind "$1" "$1"
  mount -o remount,bind,rw "$1"
}

real=$(realpath -m -- "$STORE")
if [ ! -d "$real" ]; then
  # A new store: Podman creates it, unless its nearest existing parent is read-only: then it is
  # created here, with that parent writable just for the mkdir (as bootc creates it on first use).
  parent=$(dirname -- "$real")
  while [ ! -d "$parent" ]; do parent=$(dirname -- "$parent"); done
  if ! writable "$parent"; then
    rw_bind "$parent"
    mkdir -p -- "$real"
    umount -- "$parent"
    say "created the store $real"
  fi
fi
if [ -d "$real" ] && ! writable "$real"; then
  rw_bind "$real"
  say "made $real writable in this service's mount namespace only"
fi

mkdir -p -- "$RUN/libpod"
# The system's storage.conf (the driver and its options, as bootc's Podman sees them) with, in its
# [storage] table, the store as graphroot, our runroot, and no additional image stores.
system=""
for f in /etc/containers/storage.conf /usr/share/containers/storage.conf; do
  if [ -f "$f" ]; then
    system=$f
    break
  fi
done
{
  echo "# Written by podman-store-service from ${system:-built-in defaults}: the store as graphroot."
  if [ -n "$system" ] && grep -q '^[[:space:]]*\[storage\][[:space:]]*$' "$system"; then
    awk -v store="$STORE" -v run="$RUN" '
      skip { if ($0 ~ /\]/) skip = 0; next }
      /^[ \t]*\[storage\][ \t]*$/ { print; print "graphroot = \"" store "\""; print "runroot = \"" run "\""; next }
      /^[ \t]*additionalimagestores[ \t]*=/ { if ($0 !~ /\]/) skip = 1; next }
      /^[ \t]*(graphroot|runroot|rootless_storage_path)[ \t]*=/ { next }
      { print }
    ' "$system"
  else
    printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$STORE" "$RUN"
  fi
} >"$RUN/storage.conf"
cat >"$RUN/containers.conf" <<END
# Written by podman-store-service: this service's own Podman state, out of the store.
[engine]
static_dir = "$RUN/libpod"
tmp_dir = "$RUN/libpod/tmp"
volume_path = "$RUN/libpod/volumes"
END
export CONTAINERS_STORAGE_CONF="$RUN/storage.conf"
# Podman 4.4 and later lay CONTAINERS_CONF_OVERRIDE over the system's containers.conf; older ones know
# only CONTAINERS_CONF, which replaces it.
version=$("$1" --version | sed -n 's/^podman version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
major=${version% *}
minor=${version#* }
if [ -n "$version" ] && { [ "$major" -lt 4 ] || { [ "$major" -eq 4 ] && [ "$minor" -lt 4 ]; }; }; then
  export CONTAINERS_CONF="$RUN/containers.conf"
else
  export CONTAINERS_CONF_OVERRIDE="$RUN/containers.conf"
fi

exec "$@"

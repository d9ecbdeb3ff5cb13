#!/bin/sh
# The ExecStart of bound-imaged-podman.service (installed as /usr/lib/bound-imaged/podman-store-service):
# makes the bound image store writable for this service alone, then runs the command given (Podman's
# API service on that store).
#
# On a bootc host /usr/lib/bootc/storage is a link to /sysroot/ostree/bootc/storage (composefs backend:
# on to /sysroot/composefs/bootc/storage), and ostree mounts /sysroot read-only; bootc itself writes
# the store from a private mount namespace in which it remounts all of /sysroot read-write. Here the
# unit has its own mount namespace (PrivateMounts=yes), and in it only the store directory becomes a
# read-write bind mount of itself: /sysroot, the deployments and the ostree repository stay read-only
# for Podman too, and nothing changes in the host's mount namespace.
#
# usage: podman-store-service STORE COMMAND [ARG]...
set -eu

say() { echo "podman-store-service: $*" >&2; }

if [ "$#" -lt 2 ]; then
  say "usage: podman-store-service STORE COMMAND [ARG]..."
  exit 2
fi
STORE=$1
shift

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

exec "$@"

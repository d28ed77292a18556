#!/bin/bash
# Runs any command of the end-to-end harness on a Debian platform: this machine itself, or a root
# file system of another Debian release (a suite such as trixie or sid) built with mmdebstrap.
#
# usage: platform.sh [--bind DIR]... PLATFORM COMMAND [ARG...]
#        platform.sh --prepare PLATFORM
#   PLATFORM  host (this machine), or a Debian suite: its root file system is built once, kept
#             under $PLATFORM_CACHE (default /var/cache/gre-gen-e2e) keyed by its package list,
#             and rebuilt when that list changes
#   --bind    a folder to see inside at the same path (the repository always is)
#   --prepare build the root if needed and print "root PATH built|cached SECONDS"
#
# The command runs under the first process of its own PID, mount and network namespaces (process
# ids and interface names never meet another run's): when it ends, or this script is stopped by
# any signal, the kernel kills every process it left and drops its mounts and network namespaces.
# A suite's root is seen through an overlay whose writes stay in memory, so runs never change the
# kept root and may run side by side. The environment and standard input pass through unchanged.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${PLATFORM_CACHE:-/var/cache/gre-gen-e2e}
MIRROR=${PLATFORM_MIRROR:-http://deb.debian.org/debian}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
NODE=$(command -v node || true)

die() { printf 'platform: %s\n' "$*" >&2; exit 2; }

# What the harness scripts call, as Debian packages. Debian 13 moved the docker client out of
# docker.io into docker-cli.
packages() {
  local suite=$1
  printf '%s\n' docker.io openvswitch-switch ifupdown bridge-utils iproute2 iputils-ping \
    busybox-static curl ethtool iptables procps python3 util-linux mount kmod systemd shellcheck
  case $suite in bullseye | bookworm) ;; *) echo docker-cli ;; esac
}

# Builds the suite's root once (under an exclusive lock), then holds a shared lock on it on fd 9
# for as long as this process and its children run, so a rebuild never removes a root in use.
prepare_root() {
  local suite=$1 key root started how
  [[ $suite =~ ^[a-z]+$ ]] || die "not a Debian suite: $suite"
  mkdir -p "$CACHE"
  # Debian unstable's Release file may be past its Valid-Until on the mirror.
  local options=(--variant=apt --aptopt='Acquire::Check-Valid-Until "false"' "--include=$(packages "$suite" | paste -sd,)")
  key=$(printf '%s\n' "$suite" "$MIRROR" "${options[@]}" | sha256sum | cut -c1-16)
  root=$CACHE/$suite-$key
  started=$(date +%s.%N)
  how=cached
  exec 9>"$CACHE/$suite.lock"
  flock -s 9
  if [[ ! -d $root ]]; then
    flock -x 9
    if [[ ! -d $root ]]; then
      how=built
      rm -rf "$root.partial"
      mmdebstrap "${options[@]}" "$suite" "$root.partial" "$MIRROR" >&2 ||
        { rm -rf "$root.partial"; die "mmdebstrap could not build $suite from $MIRROR"; }
      mv "$root.partial" "$root"
      # Roots of an older package list: no run holds them (every run holds the shared lock).
      find "$CACHE" -maxdepth 1 -name "$suite-*" ! -path "$root" -exec rm -rf {} +
    fi
    flock -s 9
  fi
  ROOT_DIR=$root
  ROOT_HOW=$how
  ROOT_SECONDS=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

# Inside the new namespaces: the root ($lower itself for this machine, else an overlay over it)
# with its own /proc and /tmp (and /sys, /dev and /run in a suite's root), network namespace names
# of its own, and the repository (with its built output) and the folders in $binds at their paths;
# then the command.
enter() {
  local area=$CACHE/mnt r="" k dir
  mount -t tmpfs -o mode=700 platform "$area"
  local shown=("$REPO" "${binds[@]}")
  # Held aside first: a folder under /tmp disappears under the private /tmp.
  for k in "${!shown[@]}"; do mkdir "$area/$k" && mount --bind "${shown[k]}" "$area/$k"; done
  if [[ $lower == / ]]; then
    mkdir -p /run/netns && mount -t tmpfs -o mode=755 netns /run/netns
  else
    r=$area/root
    mkdir "$area/upper" "$area/work" "$r"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$area/upper,workdir=$area/work" "$r"
    mount --rbind /sys "$r/sys" && mount --make-rslave "$r/sys"
    mount --rbind /dev "$r/dev" && mount --make-rslave "$r/dev"
    mount -t tmpfs -o mode=755 run "$r/run" && mkdir "$r/run/netns"
    # This machine's Node.js, for harness steps that run the bundled CLI.
    if [[ -n $NODE ]]; then touch "$r/usr/local/bin/node" && mount --bind "$NODE" "$r/usr/local/bin/node"; fi
  fi
  mount -t proc proc "$r/proc"
  mount -t tmpfs -o mode=1777 tmp "$r/tmp"
  for k in "${!shown[@]}"; do
    dir=${shown[k]}
    mkdir -p "$r$dir" && mount --move "$area/$k" "$r$dir"
  done
  if [[ -z $r ]]; then "$@"
  elif [[ -d $r$PWD ]]; then chroot "$r" env --chdir="$PWD" "$@" # the same working folder, when shown
  else chroot "$r" "$@"; fi
}

if [[ ${1:-} == --enter ]]; then
  lower=$2 binds=()
  shift 2
  while [[ $1 == --bind ]]; do binds+=("$2"); shift 2; done
  shift # --
  enter "$@"
  exit
fi

binds=()
while [[ ${1:-} == --bind ]]; do
  [[ -d ${2:-} ]] || die "--bind needs an existing folder"
  binds+=(--bind "$(cd "$2" && pwd)")
  shift 2
done
if [[ ${1:-} == --prepare ]]; then
  [[ -n ${2:-} ]] || die "usage: platform.sh --prepare PLATFORM"
  [[ $2 == host ]] && { echo "root / cached 0.0"; exit 0; }
  prepare_root "$2"
  echo "root $ROOT_DIR $ROOT_HOW $ROOT_SECONDS"
  exit 0
fi
[[ $# -ge 2 ]] || die "usage: platform.sh [--bind DIR]... PLATFORM COMMAND [ARG...]"
platform=$1; shift
if [[ $platform == host ]]; then
  lower=/
else
  prepare_root "$platform"
  lower=$ROOT_DIR
fi
mkdir -p "$CACHE/mnt"
exec 3<&0 # (a command started with & would read /dev/null)
# unshare ignores SIGTERM and SIGINT while it waits, so this script stays the parent: when it ends,
# however it ends, unshare gets SIGKILL, and with it the namespace's first process.
setpriv --pdeathsig KILL unshare --mount --propagation private --pid --net --fork --kill-child -- \
  bash "$SELF" --enter "$lower" "${binds[@]}" -- "$@" <&3 &
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
wait $!

#!/bin/bash
# Runs setup scripts one after another on one host (a network namespace with its own Open
# vSwitch) and prints after each run the OVS bridges as "bridge NAME OVERLAY" lines, the GRE
# ports as "port remote_ip key protected" lines and the Linux bridge newbridge's addresses; a
# script that fails is reported as "run N failed" (its error on stderr). PREPARE, if set, is run
# in the namespace before the first script (state that is not the overlay's); SHOW after each run.
# ETC, if set, is a folder the scripts see laid over /etc (their installed files), read only.
# usage: [PREPARE=COMMANDS] [SHOW=COMMANDS] [ETC=DIR] reconcile.sh SCRIPT...
set -euo pipefail
P=gr$$
WORK=$(mktemp -d /tmp/gg.XXXXXX)
cleanup() {
  set +e
  for f in "$WORK"/ovs-vswitchd.pid "$WORK"/ovsdb-server.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done
  sleep 0.2
  ip netns pids "$P" 2>/dev/null | xargs -r kill -9 2>/dev/null
  ip netns del "$P" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
in_ns() { ip netns exec "$P" env OVS_RUNDIR="$WORK" "$@"; }

ip netns add "$P"
# The scripts are host a's (reconcile.test.ts): it holds its underlay address, or they refuse.
ip -n "$P" address add 192.0.2.1/32 dev lo
ovsdb-tool create "$WORK/conf.db" /usr/share/openvswitch/vswitch.ovsschema
in_ns ovsdb-server "$WORK/conf.db" --remote="punix:$WORK/db.sock" --pidfile="$WORK/ovsdb-server.pid" --detach --log-file="$WORK/ovsdb.log" -vconsole:off
in_ns ovs-vsctl --no-wait init
in_ns ovs-vswitchd --pidfile="$WORK/ovs-vswitchd.pid" --detach --log-file="$WORK/vswitchd.log" -vconsole:off
if [[ -n ${PREPARE:-} ]]; then in_ns bash -euo pipefail -c "$PREPARE"; fi
run=0
for script in "$@"; do
  run=$((run + 1))
  if [[ -n ${ETC:-} ]]; then
    runner=(unshare --mount bash -c 'mount -t overlay overlay -o "lowerdir=$1:/etc" /etc && exec bash "$2"' - "$ETC" "$script")
  else
    runner=(bash "$script")
  fi
  if in_ns "${runner[@]}" >/dev/null; then echo "after run $run"; else echo "run $run failed"; fi
  for bridge in $(in_ns ovs-vsctl list-br); do
    echo "bridge $bridge $(in_ns ovs-vsctl --if-exists get bridge "$bridge" external_ids:gre-gen-overlay)"
  done
  for port in $(in_ns ovs-vsctl --bare --columns=name find port external_ids:gre-gen=tunnel | sort); do
    echo "$port $(in_ns ovs-vsctl get interface "$port" options:remote_ip) $(in_ns ovs-vsctl --if-exists get interface "$port" options:key) $(in_ns ovs-vsctl get port "$port" protected)"
  done
  if in_ns ip link show dev newbridge >/dev/null 2>&1; then
    in_ns ip -o -4 address show dev newbridge | awk '{print "address", $4}'
  fi
  if [[ -n ${SHOW:-} ]]; then in_ns bash -euo pipefail -c "$SHOW"; fi
done

#!/bin/bash
# Runs setup scripts one after another on one host (a network namespace with its own Open
# vSwitch) and prints the GRE ports after each run as "port remote_ip key protected" lines.
# usage: reconcile.sh SCRIPT...
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
run=0
for script in "$@"; do
  in_ns bash "$script" >/dev/null
  run=$((run + 1))
  echo "after run $run"
  for port in $(in_ns ovs-vsctl --bare --columns=name find port external_ids:gre-gen=tunnel | sort); do
    echo "$port $(in_ns ovs-vsctl get interface "$port" options:remote_ip) $(in_ns ovs-vsctl --if-exists get interface "$port" options:key) $(in_ns ovs-vsctl get port "$port" protected)"
  done
  in_ns ip -o -4 address show dev newbridge | awk '{print "address", $4}'
done

#!/bin/bash
# End-to-end proof that hosts converge through changes by gre-gen's own steps (see the project
# README, "Deploying a host").
#
# usage: change.sh STEP_DIR...
#   env E2E_APPLY=ansible: the steps are applied by docs/ansible/deploy.yml instead, run with the
#   local connection inside each host's namespace (see apply_by_ansible)
#   each STEP_DIR holds one build of the same overlay, in order: out/ (the output folder),
#   plan.json (`gre-gen plan --json`) and steps.json (`gre-gen diff --json` taken just before
#   that build, against the one before it; for the first, against nothing)
#   The topologies use ovs_datapath: netdev and underlay addresses in distinct /24s whose .1 is free.
#
# Hosts are network namespaces as in overlay.sh, each with a root folder that mirrors / (its
# /etc/network/interfaces sources its own interfaces.d). For every build it applies exactly the
# steps of steps.json, in order, and nothing else: install and remove in the host's root, the
# setup script, ifup/ifdown against the host's own interfaces file, ovs-vsctl and ip in the host's
# namespace, `systemctl ... docker` as a stop or start of the host's own dockerd (daemon-reload
# has nothing to do). A new host first gets its namespace, Open vSwitch and underlay, and its
# container once Docker runs. Then it checks every pair of containers, full-size pings at the new
# MTU, that nothing of the old state is left, that no two containers share an address, and that
# dockerd was restarted exactly where the steps said. Output as overlay.sh's.
set -euo pipefail

P=gc$$
WORK=$(mktemp -d /tmp/gg.XXXXXX)
ROUTER=$P-r
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# ifupdown's state folder is where each host's own state is bound (E2E_APPLY=ansible): made if
# missing, as ifup would, and removed again.
[[ -d /run/network ]] || { mkdir /run/network && made_run_network=1; }
trap 'cleanup; [[ -z ${made_run_network:-} ]] || rmdir /run/network' EXIT

names=() underlays=()
declare -A index        # host name -> its index
PLAYBOOK=$(cd "$(dirname "$0")/../../docs/ansible" && pwd)/deploy.yml
UNDERLAY_MTU=

root() { echo "$WORK/h$1/root"; }
iface() { local i=$1 verb=$2; shift 2; in_ns "$i" "$verb" -i "$(root "$i")/etc/network/interfaces" --state-dir "$WORK/h$i/ifstate" "$@"; }
drop_in() { echo "$(root "$1")/etc/systemd/system/docker.service.d/gre-gen.conf"; }

# Reads a step folder's plan and steps into shell variables (python3: the JSON parser every test platform has).
read_build() {
  local dir=$1
  eval "$(python3 - "$dir/plan.json" <<'PY'
import json, shlex, sys
plan = json.load(open(sys.argv[1]))
print("NAME=%s BRIDGE=%s OVS_BRIDGE=%s MTU=%s NEW_UNDERLAY_MTU=%s SUBNET=%s" % tuple(map(shlex.quote, map(str, [plan["name"], plan["bridge"], plan["ovs_bridge"], plan["mtu"], plan["underlay_mtu"], plan["subnet"]]))))
print("plan_hosts=(%s)" % " ".join(shlex.quote(h["name"]) for h in plan["hosts"]))
for h in plan["hosts"]:
    key = shlex.quote(h["name"])
    print("plan_underlay[%s]=%s plan_address[%s]=%s plan_range[%s]=%s plan_ports[%s]=%s" % (key, h["underlay_ip"], key, h["bridge_address"], key, h["fixed_cidr"], key, shlex.quote(" ".join(sorted(t["port"] for t in h["tunnels"])))))
PY
)"
  python3 - "$dir/steps.json" >"$WORK/steps" <<'PY'
import json, sys
for host in json.load(open(sys.argv[1]))["hosts"]:
    for step in host["steps"]:
        (verb, value), = step.items()
        print(host["host"], host["status"], verb, value, sep="\t")
PY
}

# A host joins: its namespace, Open vSwitch, underlay and an empty root with an interfaces file.
add_host() {
  local name=$1 i=${#names[@]}
  names+=("$name") underlays+=("${plan_underlay[$name]}")
  index[$name]=$i
  make_host "$i"
  start_ovs "$i"
  start_underlay "$i"
  mkdir -p "$(root "$i")/etc/network/interfaces.d"
  echo "source $(root "$i")/etc/network/interfaces.d/*" >"$(root "$i")/etc/network/interfaces"
}

# The operator's network changes its MTU before the hosts roll out.
set_underlay_mtu() {
  local i
  UNDERLAY_MTU=$1
  for ((i = 0; i < ${#names[@]}; i++)); do
    ip -n "$ROUTER" link set dev "${P}r$i" mtu "$UNDERLAY_MTU"
    in_ns "$i" ip link set dev "${P}u$i" mtu "$UNDERLAY_MTU"
    in_ns "$i" ovs-vsctl set interface br-phy mtu_request="$UNDERLAY_MTU"
  done
}

# One step on host i, mapped to the host's own files, namespace and dockerd; false if it failed.
apply_step() {
  local i=$1 verb=$2 value=$3 words
  local r
  r=$(root "$i")
  case $verb in
    install) mkdir -p "$(dirname "$r$value")" && cp --preserve=mode "$build/out/${names[$i]}$value" "$r$value" ;;
    remove) rm "$r$value" ;;
    run)
      read -ra words <<<"$value"
      case ${words[*]} in
        /usr/local/sbin/gre-gen-ovs-setup) in_ns "$i" bash "$r${words[0]}" ;;
        "ifup "* | "ifdown "*) iface "$i" "${words[@]}" ;;
        "ovs-vsctl "* | "ip "*) in_ns "$i" "${words[@]}" ;;
        "systemctl "*) systemctl_on "$i" "${words[@]:1}" ;;
        *) echo "not a step gre-gen may print: $value" >&2; return 1 ;;
      esac
      ;;
    *) echo "unknown step $verb" >&2; return 1 ;;
  esac
}

# systemctl on host i: daemon-reload has nothing to do; Docker is the host's own dockerd.
systemctl_on() {
  local i=$1; shift
  case $* in
    daemon-reload) ;;
    "stop docker") stop_docker "$i"; touch "$WORK/h$i/restarted" ;;
    "start docker") start_docker "$i" "$(drop_in "$i")"; touch "$WORK/h$i/restarted" ;;
    "restart docker") stop_docker "$i"; start_docker "$i" "$(drop_in "$i")"; touch "$WORK/h$i/restarted" ;;
    *) echo "not a systemctl command gre-gen may print: $*" >&2; return 1 ;;
  esac
}

apply_steps() {
  local host status verb value i
  while IFS=$'\t' read -r host status verb value; do
    [[ -n ${index[$host]:-} ]] || add_host "$host"
    i=${index[$host]}
    [[ -z ${E2E_APPLY:-} ]] || continue
    if apply_step "$i" "$verb" "$value" </dev/null; then log "step $host: $verb $value"
    else fail "$label: step on $host failed: $verb $value"; fi
    if [[ $status == gone ]]; then gone[i]=1; fi
  done <"$WORK/steps"
  [[ -z ${E2E_APPLY:-} ]] || apply_by_ansible
}

# The playbook, run from the build's folder with relative paths as its comment shows. Every host
# uses the local connection through a Python that runs in the host's network namespace (entered
# with nsenter) and a mount namespace of its own: the namespace's own /sys (bridge-utils' hooks read it) with
# the cgroups dockerd needs, a writable layer over /etc that the machine never sees, the host's root
# bound over /etc/network/interfaces(.d), /etc/nftables.d, /etc/systemd/system, /usr/local/sbin and
# ifupdown's /run/network, and a systemctl stand-in
# first on its PATH.
apply_by_ansible() {
  local i r inventory=$WORK/inventory
  : >"$inventory"
  for ((i = 0; i < ${#names[@]}; i++)); do
    r=$(root "$i")
    mkdir -p "$r/etc/systemd/system" "$r/etc/nftables.d" "$r/usr/local/sbin" "$WORK/h$i/bin" "$WORK/h$i/cgroup" "$WORK/h$i/etc-up" "$WORK/h$i/etc-work"
    cat >"$WORK/h$i/python" <<SH
#!/bin/bash
exec nsenter --net=/var/run/netns/$(ns "$i") unshare --mount env OVS_RUNDIR=$WORK/h$i/ovs PATH=$WORK/h$i/bin:\$PATH bash -c '
  mount --rbind /sys/fs/cgroup $WORK/h$i/cgroup && mount -t sysfs sysfs /sys && mount --rbind $WORK/h$i/cgroup /sys/fs/cgroup &&
  mount -t overlay overlay -o lowerdir=/etc,upperdir=$WORK/h$i/etc-up,workdir=$WORK/h$i/etc-work /etc &&
  mkdir -p /etc/nftables.d && mount --bind $r/etc/nftables.d /etc/nftables.d &&
  mount --bind $r/etc/network/interfaces /etc/network/interfaces &&
  mount --bind $r/etc/network/interfaces.d /etc/network/interfaces.d &&
  mount --bind $r/etc/systemd/system /etc/systemd/system &&
  mount --bind $r/usr/local/sbin /usr/local/sbin &&
  mount --bind $WORK/h$i/ifstate /run/network &&
  exec python3 "\$@"' python3 "\$@"
SH
    cat >"$WORK/h$i/bin/systemctl" <<SH
#!/bin/bash
# A stand-in for systemctl on host $i: Docker is the harness's dockerd for this host.
set -euo pipefail
P=$P WORK=$WORK ROUTER=$ROUTER
source $(dirname "$PLAYBOOK")/../../test/e2e/lib.sh
$(declare -p names underlays)
$(declare -f systemctl_on drop_in root)
systemctl_on $i "\$@"
SH
    chmod +x "$WORK/h$i/python" "$WORK/h$i/bin/systemctl"
    echo "${names[$i]} ansible_connection=local ansible_python_interpreter=$WORK/h$i/python ansible_become=false" >>"$inventory"
  done
  if (cd "$build" && ANSIBLE_PIPELINING=true ansible-playbook -i "$inventory" "$PLAYBOOK" -e gre_gen_steps=steps.json -e gre_gen_out=out >"$WORK/ansible.log" 2>&1); then
    ok "$label: ansible-playbook applied the steps"
  else
    fail "$label: ansible-playbook failed"; tail -40 "$WORK/ansible.log" >&2
  fi
  grep -E '^(TASK|PLAY|ok|changed|fatal)' "$WORK/ansible.log" | sed 's/^/ansible /' || true
}

# What must hold on a host of the overlay: its one bridge with its one address, its OVS bridge with
# exactly the wanted tunnels, one stanza, ifupdown's state, and nothing of an older build.
check_host() {
  local i=$1 name=${names[$1]} got want
  got=$(in_ns "$i" ip -o link show type bridge | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | xargs)
  [[ $got == "$BRIDGE" ]] && ok "$label: $name: Linux bridges: $got" || fail "$label: $name: Linux bridges '$got', want '$BRIDGE'"
  got=$(in_ns "$i" ovs-vsctl list-br | sort | xargs)
  want=$(printf '%s\n' br-phy "$OVS_BRIDGE" | sort | xargs)
  [[ $got == "$want" ]] && ok "$label: $name: OVS bridges: $got" || fail "$label: $name: OVS bridges '$got', want '$want'"
  got=$(in_ns "$i" ovs-vsctl list-ports "$OVS_BRIDGE" | sort | xargs)
  [[ $got == "${plan_ports[$name]}" ]] && ok "$label: $name: tunnel ports: $got" || fail "$label: $name: ports '$got', want '${plan_ports[$name]}'"
  got=$(in_ns "$i" ovs-vsctl --bare --columns=name find port "external_ids:gre-gen-overlay=$NAME" | sort | xargs)
  [[ $got == "${plan_ports[$name]}" ]] || fail "$label: $name: ports of the overlay '$got', want '${plan_ports[$name]}'"
  got=$(overlay_addresses "$i")
  [[ $got == "$BRIDGE ${plan_address[$name]}" ]] && ok "$label: $name: overlay addresses: $got" || fail "$label: $name: overlay addresses '$got', want '$BRIDGE ${plan_address[$name]}'"
  got=$(find "$(root "$i")/etc/network/interfaces.d" -mindepth 1 -printf '%f\n' | sort | xargs)
  [[ $got == "$BRIDGE" ]] && ok "$label: $name: stanzas: $got" || fail "$label: $name: stanzas '$got', want '$BRIDGE'"
  got=$(iface "$i" ifquery --state | xargs || true)
  [[ $got == "$BRIDGE=$BRIDGE" ]] || fail "$label: $name: ifupdown's state '$got', want '$BRIDGE=$BRIDGE'"
  got=$(in_container "$i" ip -o link show dev eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
  [[ $got == "$MTU" ]] && ok "$label: $name: container MTU $got" || fail "$label: $name: container MTU $got, want $MTU"
  in_range "${addrs[$i]}" "${plan_range[$name]}" || fail "$label: $name: container ${addrs[$i]} outside ${plan_range[$name]}"
}

# A host that left: no bridge, OVS bridge, address, stanza or file of the overlay (Docker runs on its defaults).
check_gone() {
  local i=$1 name=${names[$1]} got
  got=$(in_ns "$i" ip -o link show type bridge | awk -F': ' '{print $2}' | grep -vx docker0 | xargs || true)
  [[ -z $got ]] && ok "$label: $name (gone): no bridge left" || fail "$label: $name (gone): bridges left: $got"
  got=$(in_ns "$i" ovs-vsctl list-br | grep -vx br-phy | xargs || true)
  [[ -z $got ]] && ok "$label: $name (gone): no OVS bridge left" || fail "$label: $name (gone): OVS bridges left: $got"
  got=$(overlay_addresses "$i")
  [[ -z $got ]] || fail "$label: $name (gone): overlay addresses left: $got"
  got=$(cd "$(root "$i")" && find . -type f ! -path ./etc/network/interfaces -printf '%p ')
  [[ -z $got ]] && ok "$label: $name (gone): no file left" || fail "$label: $name (gone): files left: $got"
  got=$(iface "$i" ifquery --state | xargs || true)
  [[ -z $got ]] || fail "$label: $name (gone): ifupdown still has '$got' up"
  docker_h "$i" info >/dev/null 2>&1 || fail "$label: $name (gone): Docker does not run"
}

# "DEVICE ADDRESS/LEN" for every address of host i that lies in the overlay's subnet.
overlay_addresses() {
  local dev address
  while read -r _ dev _ address _; do
    if in_range "${address%/*}" "$SUBNET"; then echo "$dev $address"; fi
  done < <(in_ns "$1" ip -4 -o address show) | xargs
}

declare -A plan_underlay plan_address plan_range plan_ports
declare -a gone plan_hosts
make_router
make_image
number=0
for build in "$@"; do
  label="build $number"
  plan_underlay=() plan_address=() plan_range=() plan_ports=()
  read_build "$build"
  [[ -z $UNDERLAY_MTU || $UNDERLAY_MTU == "$NEW_UNDERLAY_MTU" ]] || set_underlay_mtu "$NEW_UNDERLAY_MTU"
  UNDERLAY_MTU=$NEW_UNDERLAY_MTU
  rm -f "$WORK"/h*/restarted
  declare -A dockerd_before=()
  for ((i = 0; i < ${#names[@]}; i++)); do dockerd_before[$i]=$(cat "$WORK/h$i/docker.pid" 2>/dev/null || true); done
  started=$(now)
  apply_steps
  log "metric ${label// /_}_steps_seconds $(elapsed "$started")"

  live=()
  for name in "${plan_hosts[@]}"; do live+=("${index[$name]}"); done
  for i in "${live[@]}"; do
    docker_h "$i" container inspect web >/dev/null 2>&1 || start_container "$i"
  done
  read_containers
  check_all_pairs "$label"
  check_full_size "$label" "$MTU"
  for i in "${live[@]}"; do check_host "$i"; done
  for ((i = 0; i < ${#names[@]}; i++)); do [[ -z ${gone[i]:-} ]] || check_gone "$i"; done
  duplicates=$(for i in "${live[@]}"; do echo "${addrs[$i]}"; done | sort | uniq -d | xargs)
  [[ -z $duplicates ]] && ok "$label: no two containers share an address" || fail "$label: containers share $duplicates"
  for ((i = 0; i < ${#names[@]}; i++)); do
    [[ -n ${dockerd_before[$i]:-} ]] || continue
    now_pid=$(cat "$WORK/h$i/docker.pid" 2>/dev/null || true)
    if [[ -f $WORK/h$i/restarted ]]; then
      [[ $now_pid != "${dockerd_before[$i]}" ]] && ok "$label: ${names[$i]}: dockerd restarted, as its steps said" || fail "$label: ${names[$i]}: its steps restarted dockerd, yet it is the same process"
    else
      [[ $now_pid == "${dockerd_before[$i]}" ]] && ok "$label: ${names[$i]}: dockerd kept running" || fail "$label: ${names[$i]}: dockerd restarted without a step saying so"
    fi
  done
  number=$((number + 1))
done

log "summary $failures failure(s)"
((failures == 0))

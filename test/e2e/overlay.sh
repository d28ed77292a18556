#!/bin/bash
# End-to-end proof of gre-gen's output on the real tools (see the project README, "Proof").
#
# usage: overlay.sh OUT_DIR HOSTS_FILE
#   OUT_DIR     gre-gen's output folder for a topology with ovs_datapath: netdev
#   HOSTS_FILE  one line per host: NAME UNDERLAY_IP FIXED_CIDR UNDERLAY_MTU (underlay addresses
#               in distinct /24s whose .1 and .200 are free: the router takes .1, and the first
#               host, multi-homed, holds .200 of its network before its underlay address)
#   env: BRIDGE OVS_BRIDGE MTU ENCAPSULATION DST_PORT (from the plan; DST_PORT empty for GRE)
#
# Each host is a network namespace with its own ovsdb-server and ovs-vswitchd (userspace
# datapath: no kernel module needed), routed through a router namespace. Per host it runs the
# generated setup script, ifup of the generated stanza, and a real dockerd started as the
# drop-in says (its ExecStartPre=, then its ExecStart), then one busybox container; then each
# host's gre-gen-verify against planted faults (verify.sh). It prints one line per assertion ("ok ..." or
# "FAIL ..."), "metric NAME VALUE" and "seen ..." (an observation) lines, and exits non-zero if any assertion failed.
set -euo pipefail

OUT=$(cd "$1" && pwd)
HOSTS_FILE=$2
: "${BRIDGE:?}" "${OVS_BRIDGE:?}" "${MTU:?}" "${ENCAPSULATION:?}" "${DST_PORT?}"
UNDERLAY_MTU=1500 # for hosts whose line gives none
P=g$$
WORK=$(mktemp -d /tmp/gg.XXXXXX)
ROUTER=$P-r
# shellcheck source=test/e2e/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=test/e2e/verify.sh
source "$(dirname "$0")/verify.sh"
trap cleanup EXIT

names=() underlays=() ranges=() underlay_mtus=()
while read -r name underlay range underlay_mtu; do
  [[ -n $name ]] || continue
  names+=("$name") underlays+=("$underlay") ranges+=("$range") underlay_mtus+=("$underlay_mtu")
done <"$HOSTS_FILE"
n=${#names[@]}
all_hosts

drop_in() { echo "$OUT/${names[$1]}/etc/systemd/system/docker.service.d/gre-gen.conf"; }
# What the router sees of the tunnels: GRE is IP protocol 47, VXLAN and Geneve a UDP port.
if [[ $ENCAPSULATION == gre ]]; then tunnel_match=(-p gre); else tunnel_match=(-p udp --dport "$DST_PORT"); fi

# Tunnel packets the router forwarded from the first host with source $1.
tunnel_packets_from() { ip netns exec "$ROUTER" iptables -w -L FORWARD -n -v -x | awk -v src="$1" '$8 == src { print $1 }'; }

# Measurement only (never in CI): swap the generated loop protection for another candidate,
# after every run of a setup script.
swap_loop_protection() {
  local i=$1 port
  case ${E2E_LOOP_PROTECTION:-generated} in
    generated) ;;
    none | rstp | stp)
      for port in $(in_ns "$i" ovs-vsctl --bare --columns=name find port external_ids:gre-gen=tunnel); do
        in_ns "$i" ovs-vsctl set port "$port" protected=false
      done
      [[ $E2E_LOOP_PROTECTION == none ]] || in_ns "$i" ovs-vsctl set bridge "$OVS_BRIDGE" "${E2E_LOOP_PROTECTION}_enable=true"
      ;;
  esac
}

# The state a refused script must leave as it was: OVS, IPv4 addresses, links and their masters
# (not link flags or IPv6 link-local addresses, which settle on their own after a link comes up).
host_state() {
  in_ns "$1" ovs-vsctl show
  in_ns "$1" ip -4 -o address show
  in_ns "$1" ip -o link show | awk '{ m = ""; for (k = 3; k < NF; k++) if ($k == "master") m = $(k + 1); print $2, m }'
}

# The packets all tunnel ports have sent. (OVS 3.1 counts each one twice on a userspace GRE port.)
gre_tx_total() {
  local i total=0 port count
  for ((i = 0; i < n; i++)); do
    for port in $(in_ns "$i" ovs-vsctl --bare --columns=name find port external_ids:gre-gen=tunnel); do
      count=$(in_ns "$i" ovs-vsctl get interface "$port" statistics:tx_packets 2>/dev/null || echo 0)
      total=$((total + count))
    done
  done
  echo "$total"
}

# ---- bring the fleet up ----------------------------------------------------------------------
make_network
# Counts, on the router, the first host's tunnel packets by their source address.
ip netns exec "$ROUTER" iptables -w -A FORWARD -i "${P}r0" -s "$(second_ip "${underlays[0]}")" "${tunnel_match[@]}" -j ACCEPT
ip netns exec "$ROUTER" iptables -w -A FORWARD -i "${P}r0" -s "${underlays[0]}" "${tunnel_match[@]}" -j ACCEPT
make_image
for ((i = 0; i < n; i++)); do start_ovs "$i"; start_underlay "$i"; done

# Docker's own configuration setting what the drop-in sets: the script refuses, changing nothing.
# (A private mount namespace shows the script a daemon.json of its own; dockerd creates /etc/docker.)
mkdir -p /etc/docker
before=$(host_state 0)
if refusal=$(unshare --mount --propagation private bash -c 'mount -t tmpfs gg-etc-docker /etc/docker &&
    echo "{ \"log-level\": \"warn\", \"mtu\": 1450 }" >/etc/docker/daemon.json && exec "$@"' _ \
    ip netns exec "$(ns 0)" env OVS_RUNDIR="$WORK/h0/ovs" bash "$OUT/${names[0]}/usr/local/sbin/gre-gen-ovs-setup" 2>&1); then
  fail "${names[0]}: setup script ran with \"mtu\" in daemon.json"
elif [[ $refusal == *'/etc/docker/daemon.json sets "mtu"'* && $(host_state 0) == "$before" ]]; then
  ok "${names[0]}: setup script refuses a daemon.json that sets \"mtu\", naming file and key, changing nothing"
else fail "${names[0]}: daemon.json refusal: '$refusal', state changed: $([[ $(host_state 0) == "$before" ]] && echo no || echo yes)"; fi

for ((i = 0; i < n; i++)); do
  if in_ns "$i" bash "$OUT/${names[$i]}/usr/local/sbin/gre-gen-ovs-setup"; then ok "${names[$i]}: setup script ran"
  else fail "${names[$i]}: setup script failed"; fi
  swap_loop_protection "$i"
done
last_script=$(now)
for ((i = 0; i < n; i++)); do
  if in_ns "$i" ifup -i "$OUT/${names[$i]}/etc/network/interfaces.d/$BRIDGE" --state-dir "$WORK/h$i/ifstate" "$BRIDGE"; then
    ok "${names[$i]}: ifup right after the setup script"
  else fail "${names[$i]}: ifup right after the setup script"; fi
done
# The underlay learns its neighbours on first use; a ping across each link settles it.
for ((i = 0; i < n; i++)); do in_ns "$i" ping -c1 -W1 -I "${underlays[$i]}" "$(router_ip "${underlays[$i]}")" >/dev/null || true; done
for ((i = 0; i < n; i++)); do start_docker "$i" "$(drop_in "$i")"; start_container "$i"; done
read_containers

# ---- what must hold --------------------------------------------------------------------------
for ((i = 0; i < n; i++)); do
  if in_range "${addrs[$i]}" "${ranges[$i]}"; then ok "${names[$i]}: container ${addrs[$i]} lies in ${ranges[$i]}"
  else fail "${names[$i]}: container ${addrs[$i]} lies outside ${ranges[$i]}"; fi
  mtu=$(in_container "$i" ip -o link show dev eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
  if [[ $mtu == "$MTU" ]]; then ok "${names[$i]}: container MTU $mtu"; else fail "${names[$i]}: container MTU $mtu, want $MTU"; fi
  for dev in "$BRIDGE" "$OVS_BRIDGE"; do
    mtu=$(in_ns "$i" cat "/sys/class/net/$dev/mtu")
    if [[ $mtu == "$MTU" ]]; then ok "${names[$i]}: $dev MTU $mtu"; else fail "${names[$i]}: $dev MTU $mtu, want $MTU"; fi
  done
done

pairs_start=$(now)
check_all_pairs "first boot"
log "metric all_pairs_seconds $(elapsed "$pairs_start") (since the last setup script: $(elapsed "$last_script"))"
verify_healthy "first boot"
verify_outputs

size=$((MTU - 28)) # ICMP payload: MTU minus IPv4 20 and ICMP 8
for ((i = 0; i < n; i++)); do
  j=$(((i + 1) % n))
  if retry 5 in_container "$i" ping -M "do" -s "$size" -c1 -W2 "${addrs[$j]}" >/dev/null 2>&1; then ok "${names[$i]} -> ${names[$j]}: full-size $MTU-byte don't-fragment ping passes"
  else fail "${names[$i]} -> ${names[$j]}: full-size $MTU-byte don't-fragment ping is lost"; fi
  if in_container "$i" ping -M "do" -s "$((size + 1))" -c1 -W1 "${addrs[$j]}" >/dev/null 2>&1; then fail "${names[$i]} -> ${names[$j]}: a $((MTU + 1))-byte don't-fragment ping passed"
  else ok "${names[$i]} -> ${names[$j]}: a $((MTU + 1))-byte don't-fragment ping does not pass"; fi
  # (busybox 1.35's wget crashes on -T: the timeout comes from outside)
  page=$(timeout 10 docker -H "unix://$WORK/h$i/docker.sock" exec web wget -qO- "http://${addrs[$j]}/" 2>&1 || true)
  if [[ $page == "web-${names[$j]}" ]]; then ok "${names[$i]}: container fetched ${names[$j]}'s page across the tunnel"
  else fail "${names[$i]}: container fetch of http://${addrs[$j]}/ gave '$page'"; fi
  page=$(ip netns exec "$ROUTER" curl -s -m 5 "http://${underlays[$i]}:8080/" || true)
  if [[ $page == "web-${names[$i]}" ]]; then ok "${names[$i]}: published port 8080 answers on ${underlays[$i]}"
  else fail "${names[$i]}: published port 8080 on ${underlays[$i]} gave '$page'"; fi
  if retry 5 docker_h "$i" exec web ping -c1 -W1 "$OUTSIDE" >/dev/null 2>&1; then ok "${names[$i]}: container reaches $OUTSIDE through Docker's masquerade"
  else fail "${names[$i]}: container cannot reach $OUTSIDE"; fi
done

# Docker's firewall differs between releases (Docker 28: a raw PREROUTING drop, DOCKER-FORWARD):
# after all that traffic, none of its DROP rules nor the FORWARD chain's DROP policy stopped a packet.
for ((i = 0; i < n; i++)); do
  nf=$(in_ns "$i" cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo absent)
  dropped=$(in_ns "$i" iptables-save -c | sed -n 's/^\[\([0-9]*\):.* -j DROP$/\1/p; s/^:[A-Z-]* DROP \[\([0-9]*\):.*/\1/p' |
    awk '{ n += $1 } END { print n + 0 }')
  if [[ $dropped == 0 ]]; then ok "${names[$i]}: Docker's DROP rules and policies met no packet (bridge-nf-call-iptables: $nf)"
  else fail "${names[$i]}: Docker's DROP rules and policies met $dropped packet(s)"; fi
done

# No broadcast storm: with the overlay idle, the tunnels carry next to nothing (a looping
# broadcast is some 200,000 packets a second; IPv6 router solicitations and ARP are a few).
# The bound, 100 packets a second per port, sits three orders of magnitude below a storm.
ports=$((n * (n - 1)))
before=$(gre_tx_total); sleep 5; after=$(gre_tx_total)
log "metric idle_gre_tx_packets_5s $((after - before))"
if ((after - before < 500 * ports)); then ok "no broadcast storm: $((after - before)) packets on $ports tunnel ports in 5 s idle"
else fail "broadcast storm: $((after - before)) packets on $ports tunnel ports in 5 s idle"; fi

# Idempotent: a second run of every script changes nothing.
for ((i = 0; i < n; i++)); do
  shown=$(in_ns "$i" ovs-vsctl show)
  if in_ns "$i" bash "$OUT/${names[$i]}/usr/local/sbin/gre-gen-ovs-setup" && [[ $(in_ns "$i" ovs-vsctl show) == "$shown" ]]; then
    ok "${names[$i]}: second run of the setup script exits 0 and leaves ovs-vsctl show unchanged"
  else fail "${names[$i]}: second run of the setup script failed or changed OVS"; fi
done

# Another host's script on the first host: refused, naming the host it is for, changing nothing.
before=$(host_state 0)
if refusal=$(in_ns 0 bash "$OUT/${names[1]}/usr/local/sbin/gre-gen-ovs-setup" 2>&1); then
  fail "${names[1]}'s setup script ran on ${names[0]}"
elif [[ $refusal == *"this script is for ${names[1]},"* && $(host_state 0) == "$before" ]]; then
  ok "${names[1]}'s setup script refuses to run on ${names[0]}, naming ${names[1]}, changing nothing"
else fail "${names[1]}'s setup script on ${names[0]}: '$refusal', state changed: $([[ $(host_state 0) == "$before" ]] && echo no || echo yes)"; fi

# The multi-homed first host's tunnels leave from its underlay address, never the other one.
right=$(tunnel_packets_from "${underlays[0]}") wrong=$(tunnel_packets_from "$(second_ip "${underlays[0]}")")
log "metric multihomed_tunnel_packets right=$right wrong=$wrong"
if ((right > 0 && wrong == 0)); then ok "${names[0]} (multi-homed): $right tunnel packets left from ${underlays[0]}, none from $(second_ip "${underlays[0]}")"
else fail "${names[0]} (multi-homed): tunnel packets from ${underlays[0]}: $right, from $(second_ip "${underlays[0]}"): $wrong"; fi

faults_start=$(now)
plant_faults
log "metric verify_faults_seconds $(elapsed "$faults_start")"

# A reboot of the first host: only OVSDB, ifupdown and systemd restore anything.
r=0
docker_h "$r" stop -t 1 web >/dev/null || true
stop_host "$r"
in_ns "$r" ip link del dev "$BRIDGE" 2>/dev/null || true
rm -rf "$WORK/h$r/ifstate" && mkdir -p "$WORK/h$r/ifstate"
reboot_start=$(now)
start_ovs "$r"
start_underlay "$r" # the underlay NIC's own configuration, which the host restores at boot
if in_ns "$r" ifup -i "$OUT/${names[$r]}/etc/network/interfaces.d/$BRIDGE" --state-dir "$WORK/h$r/ifstate" "$BRIDGE"; then
  ok "${names[$r]}: ifup at boot, before any script"
else fail "${names[$r]}: ifup at boot"; fi
start_docker "$r" "$(drop_in "$r")"
read_containers
check_all_pairs "after ${names[$r]} rebooted"
log "metric reboot_rejoin_seconds $(elapsed "$reboot_start")"

# A reboot of the last host as on a host without ifupdown (netplan, systemd-networkd): no ifup;
# only the drop-in's ExecStartPre= makes the bridge before dockerd starts.
r=$((n - 1))
docker_h "$r" stop -t 1 web >/dev/null || true
stop_host "$r"
in_ns "$r" ip link del dev "$BRIDGE" 2>/dev/null || true
reboot_start=$(now)
start_ovs "$r"
start_underlay "$r"
start_docker "$r" "$(drop_in "$r")"
read_containers
if in_ns "$r" ip -o -4 address show dev "$BRIDGE" | grep -q " inet "; then ok "${names[$r]}: without ifup, the bridge has its address before dockerd starts"
else fail "${names[$r]}: without ifup, the bridge has no address"; fi
check_all_pairs "after ${names[$r]} rebooted without ifupdown"
log "metric reboot_without_ifupdown_rejoin_seconds $(elapsed "$reboot_start")"
verify_healthy "after the reboots"
stopped_peer

log "summary $failures failure(s)"
[[ -z ${E2E_PAUSE:-} ]] || sleep "$E2E_PAUSE"
((failures == 0))

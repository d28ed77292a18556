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
# drop-in says (its ExecStartPre=, then its ExecStart), then one busybox container. It prints one line per assertion ("ok ..." or
# "FAIL ..."), "metric NAME VALUE" lines, and exits non-zero if any assertion failed.
set -euo pipefail

OUT=$(cd "$1" && pwd)
HOSTS_FILE=$2
: "${BRIDGE:?}" "${OVS_BRIDGE:?}" "${MTU:?}" "${ENCAPSULATION:?}" "${DST_PORT?}"
P=g$$
WORK=$(mktemp -d /tmp/gg.XXXXXX)
ROUTER=$P-r
OUTSIDE=198.51.100.1 # an address beyond the overlay, on the router: reachable only by masquerade
DOCKERD=$(command -v dockerd)
failures=0

names=() underlays=() ranges=() underlay_mtus=()
while read -r name underlay range underlay_mtu; do
  [[ -n $name ]] || continue
  names+=("$name") underlays+=("$underlay") ranges+=("$range") underlay_mtus+=("$underlay_mtu")
done <"$HOSTS_FILE"
n=${#names[@]}

log() { printf '%s\n' "$*"; }
ok() { log "ok $*"; }
fail() { log "FAIL $*"; failures=$((failures + 1)); }
ns() { echo "$P-h$1"; }
in_ns() { local i=$1; shift; ip netns exec "$(ns "$i")" env OVS_RUNDIR="$WORK/h$i/ovs" "$@"; }
docker_h() { local i=$1; shift; docker -H "unix://$WORK/h$i/docker.sock" "$@"; }
# Retries a command up to N times, 0.5 s apart: state converges, fixed sleeps alone would guess.
retry() { local tries=$1; shift; local k; for ((k = 0; k < tries; k++)); do "$@" && return 0; sleep 0.5; done; return 1; }
router_ip() { echo "${1%.*}.1"; }
second_ip() { echo "${1%.*}.200"; }
# What the router sees of the tunnels: GRE is IP protocol 47, VXLAN and Geneve a UDP port.
if [[ $ENCAPSULATION == gre ]]; then tunnel_match=(-p gre); else tunnel_match=(-p udp --dport "$DST_PORT"); fi

cleanup() {
  set +e
  for ((i = 0; i < n; i++)); do
    [[ -S $WORK/h$i/docker.sock ]] && docker_h "$i" rm -f web >/dev/null 2>&1
    stop_host "$i"
  done
  for space in $(ip netns list | awk '{print $1}' | grep "^$P-"); do
    ip netns pids "$space" | xargs -r kill -9 2>/dev/null
    ip netns del "$space"
  done
  grep -o " ${WORK}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

stop_pidfile() {
  local file=$1 pid k
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for ((k = 0; k < 100; k++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop_host() {
  local i=$1
  stop_pidfile "$WORK/h$i/docker.pid"
  stop_pidfile "$WORK/h$i/ovs/ovs-vswitchd.pid"
  stop_pidfile "$WORK/h$i/ovs/ovsdb-server.pid"
}

start_ovs() {
  local i=$1
  local d=$WORK/h$i/ovs
  [[ -f $d/conf.db ]] || { mkdir -p "$d"; ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema; }
  in_ns "$i" ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --pidfile="$d/ovsdb-server.pid" --detach --log-file="$d/ovsdb-server.log" -vconsole:off
  in_ns "$i" ovs-vsctl --no-wait init
  in_ns "$i" ovs-vswitchd --pidfile="$d/ovs-vswitchd.pid" --detach --log-file="$d/ovs-vswitchd.log" -vconsole:off
}

# The underlay: userspace tunnels need the host's address on an OVS bridge of the same datapath.
start_underlay() {
  local i=$1 ip=${underlays[$1]}
  in_ns "$i" ovs-vsctl --may-exist add-br br-phy -- set bridge br-phy datapath_type=netdev \
    -- set interface br-phy mtu_request="${underlay_mtus[$i]}" -- --may-exist add-port br-phy "${P}u$i"
  in_ns "$i" ip link set dev "${P}u$i" up
  # The kernel sees the NIC's frames too (a veth, not a real NIC): it must not answer ARP for
  # the host's addresses there, or the router sends tunnel traffic past OVS's br-phy.
  in_ns "$i" sysctl -qw "net.ipv4.conf.${P}u$i.arp_ignore=8"
  # The first host is multi-homed: another address of its network comes first, the one the
  # kernel and OVS would pick as a source; only local_ip sends its tunnels from the underlay one.
  ((i != 0)) || in_ns "$i" ip address replace "$(second_ip "$ip")/24" dev br-phy
  in_ns "$i" ip address replace "$ip/24" dev br-phy
  in_ns "$i" ip link set dev br-phy up
  in_ns "$i" ip route replace default via "$(router_ip "$ip")" dev br-phy
}

make_network() {
  ip netns add "$ROUTER"
  ip netns exec "$ROUTER" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$ROUTER" link set lo up
  ip -n "$ROUTER" address add "$OUTSIDE/32" dev lo
  for ((i = 0; i < n; i++)); do
    ip netns add "$(ns "$i")"
    ip -n "$(ns "$i")" link set lo up
    ip link add "${P}u$i" mtu "${underlay_mtus[$i]}" type veth peer name "${P}r$i" mtu "${underlay_mtus[$i]}"
    ip link set "${P}u$i" netns "$(ns "$i")"
    ip link set "${P}r$i" netns "$ROUTER"
    ip -n "$ROUTER" address add "$(router_ip "${underlays[$i]}")/24" dev "${P}r$i"
    ip -n "$ROUTER" link set "${P}r$i" up
    # The userspace datapath drops TCP whose checksum a veth left to "hardware".
    ip netns exec "$ROUTER" ethtool -K "${P}r$i" tx off >/dev/null
    mkdir -p "$WORK/h$i/ifstate"
  done
  # Counts, on the router, the first host's tunnel packets by their source address.
  ip netns exec "$ROUTER" iptables -w -A FORWARD -i "${P}r0" -s "$(second_ip "${underlays[0]}")" "${tunnel_match[@]}" -j ACCEPT
  ip netns exec "$ROUTER" iptables -w -A FORWARD -i "${P}r0" -s "${underlays[0]}" "${tunnel_match[@]}" -j ACCEPT
}

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

# What systemd runs before dockerd: the drop-in's ExecStartPre= commands, from the host's tree.
run_exec_start_pre() {
  local i=$1 command
  while read -r command; do
    in_ns "$i" bash "$OUT/${names[$i]}$command" || return 1
  done < <(sed -n 's/^ExecStartPre=//p' "$OUT/${names[$i]}/etc/systemd/system/docker.service.d/gre-gen.conf")
  swap_loop_protection "$i"
}

# The state a refused script must leave as it was: OVS, IPv4 addresses, links and their masters
# (not link flags or IPv6 link-local addresses, which settle on their own after a link comes up).
host_state() {
  in_ns "$1" ovs-vsctl show
  in_ns "$1" ip -4 -o address show
  in_ns "$1" ip -o link show | awk '{ m = ""; for (k = 3; k < NF; k++) if ($k == "master") m = $(k + 1); print $2, m }'
}

start_docker() {
  local i=$1 words
  local d=$WORK/h$i
  run_exec_start_pre "$i" || { fail "${names[$i]}: the drop-in's ExecStartPre failed"; return 1; }
  # The drop-in's own ExecStart, with this machine's dockerd and a private state per host.
  read -ra words < <(sed -n 's/^ExecStart=\(.\)/\1/p' "$OUT/${names[$i]}/etc/systemd/system/docker.service.d/gre-gen.conf")
  words[0]=$DOCKERD
  # systemd's socket (-H fd://) and the system containerd are not there: dockerd runs its own.
  local args=() k
  for ((k = 0; k < ${#words[@]}; k++)); do
    case ${words[k]} in
      -H) [[ ${words[k + 1]} == fd://* ]] && { k=$((k + 1)); continue; } ;;
      --containerd=*) continue ;;
    esac
    args+=("${words[k]}")
  done
  nsenter --net="/var/run/netns/$(ns "$i")" "${args[@]}" --storage-driver=vfs --data-root="$d/data" \
    --exec-root="$d/exec" --pidfile="$d/docker.pid" -H "unix://$d/docker.sock" >>"$d/dockerd.log" 2>&1 &
  retry 120 docker_h "$i" info >/dev/null 2>&1 || { tail -20 "$d/dockerd.log"; return 1; }
}

make_image() {
  local root=$WORK/image
  mkdir -p "$root/bin" "$root/www"
  cp /bin/busybox "$root/bin/busybox"
  for tool in sh ip ping httpd sleep wget cat mkdir echo; do ln -s busybox "$root/bin/$tool"; done
  tar -C "$root" -cf "$WORK/bb.tar" .
}

start_container() {
  local i=$1
  docker_h "$i" image inspect bb:1 >/dev/null 2>&1 || docker_h "$i" import "$WORK/bb.tar" bb:1 >/dev/null
  docker_h "$i" run -d --name web --restart=always -p 8080:80 bb:1 \
    sh -c "echo web-${names[$i]} > /www/index.html; exec httpd -f -p 80 -h /www" >/dev/null
}

# Reads each container's pid and address (again after a reboot: the restart policy brings it back).
read_containers() {
  for ((i = 0; i < n; i++)); do
    retry 60 test "$(docker_h "$i" inspect -f '{{.State.Running}}' web 2>/dev/null)" = true
    pids[i]=$(docker_h "$i" inspect -f '{{.State.Pid}}' web)
    addrs[i]=$(docker_h "$i" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web)
    # Into the userspace datapath, TCP needs full checksums (see start of make_network).
    in_container "$i" ethtool -K eth0 tx off >/dev/null
  done
}

in_container() { local i=$1; shift; nsenter -t "${pids[$i]}" -n "$@"; }

# True when $1 (an address) lies in $2 (a CIDR).
in_range() {
  local ip=$1 net=${2%/*} len=${2#*/} a b c d
  IFS=. read -r a b c d <<<"$ip"; local x=$(((a << 24) | (b << 16) | (c << 8) | d))
  IFS=. read -r a b c d <<<"$net"; local y=$(((a << 24) | (b << 16) | (c << 8) | d))
  local mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  (((x & mask) == y))
}

check_all_pairs() {
  local label=$1 i j bad=0
  for ((i = 0; i < n; i++)); do for ((j = 0; j < n; j++)); do
    ((i == j)) && continue
    if ! retry 20 in_container "$i" ping -c1 -W1 "${addrs[$j]}" >/dev/null 2>&1; then
      fail "$label: ${names[$i]} -> ${names[$j]} (${addrs[$j]}) does not answer"
      bad=1
    fi
  done; done
  ((bad)) || ok "$label: all $((n * (n - 1))) ordered pairs of containers ping each other"
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

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---- bring the fleet up ----------------------------------------------------------------------
make_network
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
for ((i = 0; i < n; i++)); do start_docker "$i"; start_container "$i"; done
declare -a pids addrs
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
start_docker "$r"
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
start_docker "$r"
read_containers
if in_ns "$r" ip -o -4 address show dev "$BRIDGE" | grep -q " inet "; then ok "${names[$r]}: without ifup, the bridge has its address before dockerd starts"
else fail "${names[$r]}: without ifup, the bridge has no address"; fi
check_all_pairs "after ${names[$r]} rebooted without ifupdown"
log "metric reboot_without_ifupdown_rejoin_seconds $(elapsed "$reboot_start")"

log "summary $failures failure(s)"
[[ -z ${E2E_PAUSE:-} ]] || sleep "$E2E_PAUSE"
((failures == 0))

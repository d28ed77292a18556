#!/bin/bash
# Shared by the end-to-end harness scripts (sourced, not run): hosts as network namespaces, each
# with its own ovsdb-server and ovs-vswitchd (userspace datapath) and its own dockerd, routed
# through a router namespace; containers, and the checks on them.
#
# The sourcing script sets P (a unique prefix), WORK (a private folder), ROUTER, UNDERLAY_MTU and
# the arrays names[] and underlays[] (host i's name and underlay address), and may set
# underlay_mtus[] (host i's own underlay MTU, else UNDERLAY_MTU). `live` lists the
# indices of the hosts the checks cover (default: all).
# shellcheck disable=SC2154 # names and underlays come from the sourcing script

OUTSIDE=198.51.100.1 # an address beyond the overlay, on the router: reachable only by masquerade
DOCKERD=$(command -v dockerd)
failures=0
declare -a pids addrs live

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
underlay_mtu() { echo "${underlay_mtus[$1]:-$UNDERLAY_MTU}"; }
all_hosts() { local i; live=(); for ((i = 0; i < ${#names[@]}; i++)); do live+=("$i"); done; }

cleanup() {
  set +e
  for ((i = 0; i < ${#names[@]}; i++)); do
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

stop_pidfile() {
  local file=$1 pid k
  [[ -f $file ]] || return 0
  pid=$(cat "$file")
  kill "$pid" 2>/dev/null || return 0
  for ((k = 0; k < 100; k++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop_docker() { stop_pidfile "$WORK/h$1/docker.pid"; }

stop_host() {
  local i=$1
  stop_docker "$i"
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
    -- set interface br-phy mtu_request="$(underlay_mtu "$i")" -- --may-exist add-port br-phy "${P}u$i"
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

make_router() {
  ip netns add "$ROUTER"
  ip netns exec "$ROUTER" sysctl -qw net.ipv4.ip_forward=1
  ip -n "$ROUTER" link set lo up
  ip -n "$ROUTER" address add "$OUTSIDE/32" dev lo
}

# Host i's namespace and its link to the router.
make_host() {
  local i=$1
  ip netns add "$(ns "$i")"
  ip -n "$(ns "$i")" link set lo up
  ip link add "${P}u$i" mtu "$(underlay_mtu "$i")" type veth peer name "${P}r$i" mtu "$(underlay_mtu "$i")"
  ip link set "${P}u$i" netns "$(ns "$i")"
  ip link set "${P}r$i" netns "$ROUTER"
  ip -n "$ROUTER" address add "$(router_ip "${underlays[$i]}")/24" dev "${P}r$i"
  ip -n "$ROUTER" link set "${P}r$i" up
  # The userspace datapath drops TCP whose checksum a veth left to "hardware".
  ip netns exec "$ROUTER" ethtool -K "${P}r$i" tx off >/dev/null
  mkdir -p "$WORK/h$i/ifstate"
}

make_network() {
  make_router
  for ((i = 0; i < ${#names[@]}; i++)); do make_host "$i"; done
}

# Starts host i's dockerd as systemd would with the drop-in DROP_IN (without one: Docker's own
# defaults), with this machine's dockerd and a private state per host.
start_docker() {
  local i=$1 drop_in=${2:-} words=()
  local d=$WORK/h$i
  if [[ -f $drop_in ]]; then
    # What systemd runs before dockerd: the drop-in's ExecStartPre= commands, from the host's tree.
    local command
    while read -r command; do
      in_ns "$i" bash "$(dirname "$drop_in")/../../../..$command" || { fail "${names[$i]}: the drop-in's ExecStartPre failed"; return 1; }
    done < <(sed -n 's/^ExecStartPre=//p' "$drop_in")
    read -ra words < <(sed -n 's/^ExecStart=\(.\)/\1/p' "$drop_in")
  else words=(dockerd); fi
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
  # It stops in 1 s, not 10 (httpd, as pid 1, ignores SIGTERM): dockerd restarts stay quick.
  docker_h "$i" run -d --name web --restart=always --stop-timeout=1 -p 8080:80 bb:1 \
    sh -c "echo web-${names[$i]} > /www/index.html; exec httpd -f -p 80 -h /www" >/dev/null
}

# Reads each live container's pid and address (again after a restart: the restart policy brings it back).
read_containers() {
  local i
  for i in "${live[@]}"; do
    retry 60 test "$(docker_h "$i" inspect -f '{{.State.Running}}' web 2>/dev/null)" = true
    pids[i]=$(docker_h "$i" inspect -f '{{.State.Pid}}' web)
    addrs[i]=$(docker_h "$i" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web)
    # Into the userspace datapath, TCP needs full checksums (see make_host).
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
  local label=$1 i j bad=0 count=0
  for i in "${live[@]}"; do for j in "${live[@]}"; do
    ((i == j)) && continue
    count=$((count + 1))
    if ! retry 20 in_container "$i" ping -c1 -W1 "${addrs[$j]}" >/dev/null 2>&1; then
      fail "$label: ${names[$i]} -> ${names[$j]} (${addrs[$j]}) does not answer"
      bad=1
    fi
  done; done
  ((bad)) || ok "$label: all $count ordered pairs of containers ping each other"
}

# A full-size don't-fragment ping from each live container to the next passes at MTU $2.
check_full_size() {
  local label=$1 mtu=$2 k i j
  local size=$((mtu - 28)) # ICMP payload: MTU minus IPv4 20 and ICMP 8
  for ((k = 0; k < ${#live[@]}; k++)); do
    i=${live[k]} j=${live[(k + 1) % ${#live[@]}]}
    if retry 5 in_container "$i" ping -M "do" -s "$size" -c1 -W2 "${addrs[$j]}" >/dev/null 2>&1; then ok "$label: ${names[$i]} -> ${names[$j]}: full-size $mtu-byte don't-fragment ping passes"
    else fail "$label: ${names[$i]} -> ${names[$j]}: full-size $mtu-byte don't-fragment ping is lost"; fi
  done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

#!/bin/bash
# The verify command's proof, sourced by overlay.sh (it uses that harness's hosts and helpers):
# every host's gre-gen-verify passes on a healthy overlay, each planted fault fails on the host it
# was planted on with the right check and only that one, and the other hosts raise no false alarm.
# shellcheck disable=SC2154 # names, n, WORK, OUT, BRIDGE and MTU come from overlay.sh
# shellcheck disable=SC2016,SC2034 # each fault is planted and repaired by a command evaluated later

verify_path() { echo "$OUT/${names[$1]}/usr/local/sbin/gre-gen-verify"; }

# Host $1's verify command with the other arguments, into $WORK/verify$1.out and .code; with
# VERIFY_DAEMON_JSON set, it sees that text as /etc/docker/daemon.json (a private mount, so the
# other hosts and the machine do not).
run_verify() {
  local i=$1 code=0
  shift
  if [[ -n ${VERIFY_DAEMON_JSON:-} ]]; then
    unshare --mount --propagation private bash -c 'mount -t tmpfs gg-etc-docker /etc/docker &&
      printf "%s\n" "$1" >/etc/docker/daemon.json && shift && exec "$@"' _ "$VERIFY_DAEMON_JSON" \
      ip netns exec "$(ns "$i")" env OVS_RUNDIR="$WORK/h$i/ovs" bash "$(verify_path "$i")" "$@" >"$WORK/verify$i.out" 2>&1 || code=$?
  else in_ns "$i" bash "$(verify_path "$i")" "$@" >"$WORK/verify$i.out" 2>&1 || code=$?; fi
  echo "$code" >"$WORK/verify$i.code"
}

# Every host's verify command at once (each pings its peers for up to 3 s).
run_verify_all() {
  local i waits=()
  for ((i = 0; i < n; i++)); do run_verify "$i" & waits+=($!); done
  wait "${waits[@]}"
}

verify_code() { cat "$WORK/verify$1.code"; }
verify_out() { cat "$WORK/verify$1.out"; }
# The "CHECK SUBJECT" of each FAIL line of host $1's last run, one per line.
verify_failures() { sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$WORK/verify$1.out"; }
not_ok() { grep -v '^OK ' "$WORK/verify$1.out" | tr '\n' '|'; }

all_pass() {
  local i
  run_verify_all
  for ((i = 0; i < n; i++)); do [[ $(verify_code "$i") == 0 ]] || return 1; done
}

# Every host passes (BFD takes a few seconds to come up after a change), and quietly prints nothing.
verify_healthy() {
  local label=$1 i start
  start=$(now)
  retry 30 all_pass || true
  for ((i = 0; i < n; i++)); do
    if [[ $(verify_code "$i") == 0 ]]; then ok "$label: ${names[$i]}'s gre-gen-verify passes ($(grep -c '^OK ' "$WORK/verify$i.out") checks)"
    else fail "$label: ${names[$i]}'s gre-gen-verify exits $(verify_code "$i"): $(not_ok "$i")"; fi
  done
  log "metric verify_healthy_seconds $(elapsed "$start") ($label)"
}

# Each host's --json output, for the test to parse; --quiet prints nothing; and a run changes
# nothing on the host.
verify_outputs() {
  local i before
  for ((i = 0; i < n; i++)); do
    before=$(host_state "$i")
    run_verify "$i" --json
    log "verify-json $(verify_code "$i") $(verify_out "$i")"
    if [[ $(host_state "$i") == "$before" ]]; then ok "${names[$i]}: gre-gen-verify left Open vSwitch, links, masters and addresses as they were"
    else fail "${names[$i]}: gre-gen-verify changed something: $(diff <(echo "$before") <(host_state "$i") | head -5 | tr '\n' '|')"; fi
    run_verify "$i" --quiet
    if [[ $(verify_code "$i") == 0 && -z $(verify_out "$i") ]]; then ok "${names[$i]}: gre-gen-verify --quiet prints nothing on a healthy host"
    else fail "${names[$i]}: gre-gen-verify --quiet exits $(verify_code "$i") and prints '$(verify_out "$i")'"; fi
  done
}

fails_exactly() { run_verify "$1"; [[ $(verify_code "$1") == 1 && $(verify_failures "$1") == "$2" ]]; }

# True when host $1's failures of its last run (if any) are all the checks $3 (reach, bfd) of
# host $2 (of any host: *).
fails_at_most() {
  local i=$1 peer=$2 allowed=$3 check
  [[ $(verify_code "$i") == 0 ]] && return 0
  [[ $(verify_code "$i") == 1 ]] || return 1
  while read -r check; do
    [[ " $allowed " == *" ${check%% *} "* && ($peer == "*" || ${check#* } == "$peer") ]] || return 1
  done < <(verify_failures "$i")
}

# Plants a fault on host $2 with the command $4, expects it to fail exactly the check $3 there,
# and on the other hosts no failure beyond the checks $5 (reach, bfd) about that host, which a
# fault that cuts the host's tunnels or address causes there for real; a plant that takes
# another host's address names it in victim, which may then fail to reach any host. Then it
# repairs the fault with the command $6 and waits for every host to pass again.
expect_fault() {
  local label=$1 i=$2 check=$3 plant=$4 allowed=$5 repair=$6 h
  victim=""
  eval "$plant"
  if retry 10 fails_exactly "$i" "$check"; then ok "$label on ${names[$i]}: its gre-gen-verify fails $check, and only that"
  else fail "$label on ${names[$i]}: want only FAIL $check, got exit $(verify_code "$i"): $(not_ok "$i")"; fi
  local saved_json=${VERIFY_DAEMON_JSON:-}
  VERIFY_DAEMON_JSON=""
  run_verify_all
  for ((h = 0; h < n; h++)); do
    ((h == i)) && continue
    if [[ $h == "$victim" ]]; then
      if fails_at_most "$h" "*" reach; then ok "$label on ${names[$i]}: ${names[$h]}, whose address it took, reports nothing else than reach of its peers ($(verify_failures "$h" | grep -c .) failing)"
      else fail "$label on ${names[$i]}: ${names[$h]}, whose address it took, reports $(grep -E '^(FAIL|UNKNOWN) ' "$WORK/verify$h.out" | tr '\n' '|')"; fi
    elif fails_at_most "$h" "${names[$i]}" "$allowed"; then ok "$label on ${names[$i]}: ${names[$h]} reports nothing else${allowed:+ than $allowed of ${names[$i]}}"
    else fail "$label on ${names[$i]}: ${names[$h]} reports $(grep -E '^(FAIL|UNKNOWN) ' "$WORK/verify$h.out" | tr '\n' '|')"; fi
  done
  VERIFY_DAEMON_JSON=$saved_json
  eval "$repair"
  verify_healthy "repaired $label"
}

tunnel_port_to() { in_ns "$1" ovs-vsctl --bare --columns=name find port "external_ids:gre-gen-peer=${names[$2]}"; }
setup_script() { in_ns "$1" bash "$OUT/${names[$1]}/usr/local/sbin/gre-gen-ovs-setup"; }

# The drop-in as someone edited it: without --fixed-cidr (and, a copy elsewhere, without its
# ExecStartPre=, which names the script by its path on the host).
drop_in_without_fixed_cidr() {
  local copy=$WORK/h$1/gre-gen-no-fixed-cidr.conf
  sed '/^ExecStartPre=/d; s/ --fixed-cidr=[^ ]*//' "$(drop_in "$1")" >"$copy"
  echo "$copy"
}

# dockerd restarted as systemd would with that drop-in. Its container restarts too (--restart=always)
# and, the pool now being the bridge's whole subnet, takes the first free address there: a peer's
# bridge address. Docker 28 announces it (a gratuitous ARP, flooded through every tunnel), so every
# host sends its answers for that peer to the container: that peer, and only that one, may find
# no host answering, for real.
restart_docker_without_fixed_cidr() {
  local i=$1 h
  stop_docker "$i"
  start_docker "$i" "$(drop_in_without_fixed_cidr "$i")"
  read_containers
  for ((h = 0; h < n; h++)); do
    if [[ $(bridge_address "$h") == "${addrs[$i]}/"* ]]; then victim=$h; fi
  done
  log "seen dockerd without --fixed-cidr on ${names[$i]}: its container now has ${addrs[$i]} (its range: ${ranges[$i]})${victim:+, the bridge address of ${names[$victim]}}, $(in_container "$i" ip -o link show dev eth0 | grep -o "link/ether [^ ]*")"
  for ((h = 0; h < n; h++)); do
    [[ $h == "$victim" ]] || log "seen ${names[$h]}'s neighbour entry for ${addrs[$i]}: $(in_ns "$h" ip neigh show to "${addrs[$i]}" dev "$BRIDGE")"
  done
}

bridge_address() { in_ns "$1" ip -4 -o address show dev "$BRIDGE" | awk '{ print $4 }'; }

# What Docker's raw-table DROP rules (Docker 28) have counted on host $1.
log_raw_drops() {
  log "seen ${names[$1]}'s raw-table DROP rules counted $(in_ns "$1" iptables-save -t raw -c 2>/dev/null | sed -n 's/^\[\([0-9]*\):.* -j DROP$/\1/p' | awk '{ n += $1 } END { print n + 0 }') packet(s)"
}

restart_docker() {
  local i=$1
  stop_docker "$i"
  start_docker "$i" "$(drop_in "$i")"
  read_containers
}

plant_faults() {
  local a b port address
  a=0 b=$((1 % n)) port=$(tunnel_port_to 0 "$b")
  expect_fault "deleted tunnel port" "$a" "tunnel $port" 'in_ns $a ovs-vsctl del-port "$port"' "reach bfd" 'setup_script $a'
  a=$((1 % n)) b=$((2 % n)) port=$(tunnel_port_to "$a" "$b")
  expect_fault "changed remote_ip" "$a" "tunnel $port" \
    'in_ns $a ovs-vsctl set interface "$port" options:remote_ip=203.0.113.9' "reach bfd" 'setup_script $a'
  a=$((2 % n))
  expect_fault "wrong bridge MTU" "$a" "bridge-mtu $BRIDGE" 'in_ns $a ip link set dev "$BRIDGE" mtu $((MTU - 100))' "" 'setup_script $a'
  a=$((3 % n)) address=$(bridge_address "$a")
  expect_fault "removed bridge address" "$a" "bridge-address $BRIDGE" 'in_ns $a ip address del "$address" dev "$BRIDGE"' "reach" 'setup_script $a'
  a=$((4 % n))
  expect_fault "dockerd restarted without --fixed-cidr" "$a" "dockerd dockerd" 'restart_docker_without_fixed_cidr $a' "" 'log_raw_drops $a; restart_docker $a'
  a=$((5 % n))
  VERIFY_DAEMON_JSON='{ "log-level": "warn", "mtu": 1400 }'
  expect_fault "colliding daemon.json key" "$a" "docker-config /etc/docker/daemon.json" ':' "" 'VERIFY_DAEMON_JSON=""'
}

# A peer whose ovs-vswitchd stops: it cannot check itself (exit 2); every other host reports it
# unreachable and its BFD down, and how long that took is measured.
stopped_peer() {
  local s=$((n - 1)) h start pollers=() worst=0 port
  stop_pidfile "$WORK/h$s/ovs/ovs-vswitchd.pid"
  start=$(now)
  run_verify "$s"
  if [[ $(verify_code "$s") == 2 && $(verify_out "$s") == UNKNOWN* ]]; then ok "stopped ovs-vswitchd on ${names[$s]}: its gre-gen-verify cannot check (exit 2): $(verify_out "$s")"
  else fail "stopped ovs-vswitchd on ${names[$s]}: its gre-gen-verify exits $(verify_code "$s"): $(verify_out "$s")"; fi
  for ((h = 0; h < n; h++)); do
    ((h == s)) && continue
    # When OVSDB first shows BFD down on the tunnel to the stopped host, polled every 0.1 s.
    port=$(tunnel_port_to "$h" "$s")
    (for ((k = 0; k < 300; k++)); do
      [[ $(in_ns "$h" ovs-vsctl get interface "$port" bfd_status:state) == down ]] && { elapsed "$start" >"$WORK/bfd$h"; break; }
      sleep 0.1
    done) &
    pollers+=($!)
  done
  wait "${pollers[@]}"
  # Then each other host's verify command reports exactly that host unreachable and its BFD down.
  run_verify_all
  for ((h = 0; h < n; h++)); do
    ((h == s)) && continue
    if [[ -f $WORK/bfd$h ]] && [[ $(verify_code "$h") == 1 && $(verify_failures "$h") == "reach ${names[$s]}"$'\n'"bfd ${names[$s]}" ]]; then
      ok "stopped ovs-vswitchd on ${names[$s]}: ${names[$h]}'s BFD down $(<"$WORK/bfd$h") s after; its gre-gen-verify reports reach and bfd of ${names[$s]}, nothing else"
      worst=$(awk -v a="$worst" -v b="$(<"$WORK/bfd$h")" 'BEGIN { print (b > a ? b : a) }')
    else fail "stopped ovs-vswitchd on ${names[$s]}: ${names[$h]}: BFD down after $(cat "$WORK/bfd$h" 2>/dev/null || echo never); verify: $(not_ok "$h")"; fi
  done
  log "metric peer_bfd_down_seconds $worst"
}

#!/usr/bin/env bash
# A longer simulated path for path-tracing tests: the monitor, its gateway, two
# ISP routers, two internet routers and the destination, plus a spare router
# for re-routing. Each router forwards and answers with ICMP Time Exceeded.
#
#   P-mon   10.1.1.2 ── 10.1.1.1  P-gw   100.64.1.1 ── 100.64.1.2  P-isp1
#   P-isp1  100.64.2.1 ── 100.64.2.2  P-isp2  203.0.113.1 ── 203.0.113.2  P-inet1
#   P-inet1 203.0.113.5 ── 203.0.113.6  P-inet2  203.0.113.9 ── 203.0.113.10  P-dst
#   P-dst: targets 198.51.100.1 and 198.51.100.2 on lo
#   spare:  P-isp2 203.0.113.13 ── 203.0.113.14 P-alt 203.0.113.17 ── 203.0.113.18 P-inet2
#
# Usage: chain.sh up P | down P | reroute P | cut P | noroute P | restore P | loss P PCT | noloss P
#   cut/restore: the link after the second ISP router (isp2 ─ inet1).
#   noroute: the second ISP router loses its route onward and answers "network unreachable" (!N).
#   loss: drop PCT % of the monitor's packets arriving at the second ISP router.
set -euo pipefail
cmd=$1; P=$2
NS=(mon gw isp1 isp2 inet1 inet2 dst alt)
link() { # link A DEV_A ADDR_A B DEV_B ADDR_B (/30 unless given)
  ip link add "$2" netns "$P-$1" type veth peer name "$5" netns "$P-$4"
  ip -n "$P-$1" addr add "$3" dev "$2"; ip -n "$P-$4" addr add "$6" dev "$5"
  ip -n "$P-$1" link set "$2" up; ip -n "$P-$4" link set "$5" up
}
r() { local ns=$1; shift; ip -n "$P-$ns" route add "$@"; }

case $cmd in
up)
  for n in "${NS[@]}"; do ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
  link mon mon0 10.1.1.2/24 gw lan0 10.1.1.1/24
  link gw wan0 100.64.1.1/30 isp1 a0 100.64.1.2/30
  link isp1 b0 100.64.2.1/30 isp2 a0 100.64.2.2/30
  link isp2 b0 203.0.113.1/30 inet1 a0 203.0.113.2/30
  link inet1 b0 203.0.113.5/30 inet2 a0 203.0.113.6/30
  link inet2 b0 203.0.113.9/30 dst a0 203.0.113.10/30
  link isp2 c0 203.0.113.13/30 alt a0 203.0.113.14/30
  link alt b0 203.0.113.17/30 inet2 c0 203.0.113.18/30
  for a in 198.51.100.1 198.51.100.2; do ip -n "$P-dst" addr add "$a/32" dev lo; done
  r mon default via 10.1.1.1
  r gw default via 100.64.1.2
  r isp1 default via 100.64.2.2; r isp1 10.1.1.0/24 via 100.64.1.1
  r isp2 default via 203.0.113.2; r isp2 10.1.0.0/16 via 100.64.2.1; r isp2 100.64.1.0/30 via 100.64.2.1
  for n in inet1; do r $n default via 203.0.113.6; r $n 10.1.0.0/16 via 203.0.113.1; r $n 100.64.0.0/10 via 203.0.113.1; done
  r inet2 default via 203.0.113.10; r inet2 10.1.0.0/16 via 203.0.113.5; r inet2 100.64.0.0/10 via 203.0.113.5
  r inet2 203.0.113.0/30 via 203.0.113.5
  r alt default via 203.0.113.18; r alt 10.1.0.0/16 via 203.0.113.13; r alt 100.64.0.0/10 via 203.0.113.13
  r dst default via 203.0.113.9
  # Routers keep Linux's default ICMP rate limits, as real routers limit
  # theirs: per destination a burst of about 6 errors, then one a second
  # (a router without a route: one "unreachable" every 2 s).
  for n in gw isp1 isp2 inet1 inet2 alt; do
    ip netns exec "$P-$n" sysctl -qw net.ipv4.ip_forward=1
  done
  ip netns exec "$P-mon" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
  for n in "${NS[@]}"; do
    mkdir -p "/etc/netns/$P-$n"; echo "nameserver 198.51.100.53" > "/etc/netns/$P-$n/resolv.conf"
  done
  ;;
down)
  for n in "${NS[@]}"; do ip netns del "$P-$n" 2>/dev/null || true; rm -rf "/etc/netns/$P-$n"; done
  ;;
reroute) ip -n "$P-isp2" route replace default via 203.0.113.14 ;;
cut) # silently: a router that drops, not one that says "unreachable"
  ip netns exec "$P-isp2" nft -f - <<NFT
table ip cmcut {
  chain cut { type filter hook forward priority 0; policy accept; oifname "b0" drop; }
}
NFT
  ;;
noroute) ip -n "$P-isp2" route del default ;;
restore)
  ip netns exec "$P-isp2" nft delete table ip cmcut 2>/dev/null || true
  ip -n "$P-isp2" route replace default via 203.0.113.2
  ;;
loss)
  ip netns exec "$P-isp2" nft -f - <<NFT
table ip cmloss {
  chain lossy { type filter hook prerouting priority -300; policy accept; ip saddr 10.1.1.2 numgen random mod 100 < $3 drop; }
}
NFT
  ;;
noloss) ip netns exec "$P-isp2" nft delete table ip cmloss 2>/dev/null || true ;;
*) echo "usage: $0 up|down|reroute|cut|noroute|restore|loss|noloss P" >&2; exit 2 ;;
esac

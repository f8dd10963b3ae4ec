#!/usr/bin/env bash
# A simulated home network in network namespaces, for tests and benchmarks.
#
#   P-mon (the monitor)  mon0 10.0.1.2/24, default via 10.0.1.1
#     |  LAN link
#   P-gw  (home router)  lan0 10.0.1.1/24, wan0 10.0.2.1/24, default via 10.0.2.2
#     |  access link
#   P-isp (ISP router)   cpe0 10.0.2.2/24, up0 10.0.3.1/24, default via 10.0.3.2
#     |  upstream link
#   P-net ("internet")   isp0 10.0.3.2/24; targets 198.51.100.1-3 on lo,
#                        DNS 198.51.100.53 (dnsmasq), HTTP 198.51.100.80:80, TCP :443 everywhere
#
# Usage: topo.sh up P | down P | cut lan|access|upstream P | restore lan|access|upstream P
#        | loss PCT P | loss-both PCT P | noloss P
# P is a short prefix (<= 8 chars) unique to the caller. Only namespaces named P-* are touched.
set -euo pipefail
cmd=$1; shift
here=$(cd "$(dirname "$0")" && pwd)

link_of() { # which namespace and device carries a named link (its near end)
  case $1 in
    lan) echo "$2-gw lan0" ;;
    access) echo "$2-gw wan0" ;;
    upstream) echo "$2-isp up0" ;;
    *) echo "unknown link $1" >&2; exit 2 ;;
  esac
}

case $cmd in
up)
  P=$1
  for n in mon gw isp net; do ip netns add "$P-$n"; ip -n "$P-$n" link set lo up; done
  ip link add mon0 netns "$P-mon" type veth peer name lan0 netns "$P-gw"
  ip link add wan0 netns "$P-gw" type veth peer name cpe0 netns "$P-isp"
  ip link add up0 netns "$P-isp" type veth peer name isp0 netns "$P-net"
  ip -n "$P-mon" addr add 10.0.1.2/24 dev mon0
  ip -n "$P-gw" addr add 10.0.1.1/24 dev lan0
  ip -n "$P-gw" addr add 10.0.2.1/24 dev wan0
  ip -n "$P-isp" addr add 10.0.2.2/24 dev cpe0
  ip -n "$P-isp" addr add 10.0.3.1/24 dev up0
  ip -n "$P-net" addr add 10.0.3.2/24 dev isp0
  for a in 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.53 198.51.100.80; do
    ip -n "$P-net" addr add "$a/32" dev lo
  done
  for d in "mon mon0" "gw lan0" "gw wan0" "isp cpe0" "isp up0" "net isp0"; do
    set -- $d; ip -n "$P-$1" link set "$2" up
  done
  ip -n "$P-mon" route add default via 10.0.1.1
  ip -n "$P-gw" route add default via 10.0.2.2
  ip -n "$P-isp" route add 10.0.1.0/24 via 10.0.2.1
  ip -n "$P-isp" route add default via 10.0.3.2
  ip -n "$P-net" route add 10.0.0.0/16 via 10.0.3.1
  for n in gw isp; do ip netns exec "$P-$n" sysctl -qw net.ipv4.ip_forward=1; done
  # Unprivileged ICMP for the monitor, as the packaged sysctl.d file sets it.
  ip netns exec "$P-mon" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
  # Processes in a namespace read /etc/netns/NAME/resolv.conf; none may reach the host's resolver.
  for n in mon gw isp net; do
    mkdir -p "/etc/netns/$P-$n"
    echo "nameserver 198.51.100.53" > "/etc/netns/$P-$n/resolv.conf"
  done
  ;;
down)
  P=$1
  for n in mon gw isp net; do
    # End only the processes of our own namespaces.
    for pid in $(ip netns pids "$P-$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$P-$n" 2>/dev/null || true
    rm -rf "/etc/netns/$P-$n"
  done
  ;;
cut|restore)
  what=$1; P=$2
  read -r ns dev < <(link_of "$what" "$P")
  ip -n "$ns" link set "$dev" "$([ "$cmd" = cut ] && echo down || echo up)"
  if [ "$cmd" = restore ]; then
    # Routes over the link went with it; put them back.
    case $what in
      access) ip -n "$P-gw" route replace default via 10.0.2.2 ;;
      upstream) ip -n "$P-isp" route replace default via 10.0.3.2 ;;
    esac
  fi
  ;;
loss)
  # loss PCT P: the ISP router drops PCT% of the packets it forwards toward the home
  # (nftables numgen; this kernel has no netem). One direction, so ping sees PCT% loss.
  pct=$1; P=$2
  ip netns exec "$P-isp" nft -f - <<NFT
table inet cmloss {
  chain lossy { type filter hook forward priority 0; policy accept; iifname up0 numgen random mod 100 < $pct drop; }
}
NFT
  ;;
loss-both)
  # loss-both PCT P: the same, in both directions (towards the home and towards the internet).
  pct=$1; P=$2
  ip netns exec "$P-isp" nft -f - <<NFT
table inet cmloss {
  chain lossy { type filter hook forward priority 0; policy accept; numgen random mod 100 < $pct drop; }
}
NFT
  ;;
noloss)
  ip netns exec "$1-isp" nft delete table inet cmloss
  ;;
dual)
  # dual P: adds IPv6 to the network made by `up` (documentation prefixes):
  #   mon0 2001:db8:1::2/64, default via fe80::1 (the home router's link-local
  #   address, as routers announce it); gw lan0 fe80::1, 2001:db8:1::1/64;
  #   gw wan0 2001:db8:2::1 - isp cpe0 2001:db8:2::2; isp up0 2001:db8:3::1 -
  #   net isp0 2001:db8:3::2; targets 2001:db8:100::1 and ::2 on the net's lo.
  P=$1
  for n in mon gw isp net; do
    ip netns exec "$P-$n" sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
  done
  for n in gw isp; do ip netns exec "$P-$n" sysctl -qw net.ipv6.conf.all.forwarding=1; done
  ip -n "$P-mon" addr add 2001:db8:1::2/64 dev mon0 nodad
  ip -n "$P-gw" addr add fe80::1/64 dev lan0 nodad
  ip -n "$P-gw" addr add 2001:db8:1::1/64 dev lan0 nodad
  ip -n "$P-gw" addr add 2001:db8:2::1/64 dev wan0 nodad
  ip -n "$P-isp" addr add 2001:db8:2::2/64 dev cpe0 nodad
  ip -n "$P-isp" addr add 2001:db8:3::1/64 dev up0 nodad
  ip -n "$P-net" addr add 2001:db8:3::2/64 dev isp0 nodad
  for a in 2001:db8:100::1 2001:db8:100::2; do ip -n "$P-net" addr add "$a/128" dev lo nodad; done
  ip -n "$P-mon" -6 route add default via fe80::1 dev mon0
  ip -n "$P-gw" -6 route add default via 2001:db8:2::2
  ip -n "$P-isp" -6 route add 2001:db8:1::/64 via 2001:db8:2::1
  ip -n "$P-isp" -6 route add default via 2001:db8:3::2
  ip -n "$P-net" -6 route add 2001:db8::/40 via 2001:db8:3::1
  # Link-local addresses are usable only once duplicate detection is done.
  for _ in $(seq 50); do
    busy=""
    for n in mon gw isp net; do busy+=$(ip -n "$P-$n" -6 addr show tentative); done
    [ -z "$busy" ] && break
    sleep 0.1
  done
  ;;
drop)
  # drop 4|6|both P: the ISP router drops what it forwards of that family.
  case $1 in 4) m="meta nfproto ipv4" ;; 6) m="meta nfproto ipv6" ;; both) m="" ;; *) exit 2 ;; esac
  ip netns exec "$2-isp" nft -f - <<NFT
table inet cmfamily {
  chain famdrop { type filter hook forward priority 0; policy accept; $m drop; }
}
NFT
  ;;
undrop)
  ip netns exec "$1-isp" nft delete table inet cmfamily
  ;;
noping-gw)
  # noping-gw P: the home router ignores echo requests to itself, as many do;
  # it still forwards everything.
  ip netns exec "$1-gw" nft -f - <<NFT
table inet cmnoping {
  chain in { type filter hook input priority 0; policy accept; icmp type echo-request drop; icmpv6 type echo-request drop; }
}
NFT
  ;;
*) echo "usage: $0 up|down|cut|restore|loss|noloss ..." >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Benchmarks connectivity-monitor side by side with fping and blackbox_exporter
# on one simulated network (tests/net/topo.sh), and writes BENCHMARKS.md.
# Not part of CI. Needs root (namespaces). Runs unattended in about 10 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
if ! command -v fping >/dev/null || ! command -v prometheus-blackbox-exporter >/dev/null || ! command -v ping >/dev/null || ! command -v mtr >/dev/null || [ ! -x /usr/bin/time ] || ! command -v mosquitto >/dev/null || ! command -v ethtool >/dev/null || ! command -v prometheus >/dev/null; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends fping prometheus-blackbox-exporter iputils-ping \
    iproute2 nftables dnsmasq-base python3 mtr-tiny time mosquitto ethtool prometheus
fi
# The Debian package may start its own exporter where systemd runs; ours is separate and on loopback only.
cargo build --release --locked
exec python3 bench/bench.py "$@"

#!/usr/bin/env bash
# Build and install connectivity-monitor as a systemd service.
#   ./deploy.sh            build, install, enable and start
#   ./deploy.sh --dry-run  print each step without doing it
#   ./deploy.sh --uninstall  remove binary and unit; keep config and logs
#   ./deploy.sh --binary PATH  install PATH instead of building (e.g. a CI artifact)
set -euo pipefail

BIN=/usr/local/bin/connectivity-monitor
UNIT=/etc/systemd/system/connectivity-monitor.service
CONF_DIR=/etc/connectivity-monitor
CONF=$CONF_DIR/config.toml
SYSCTL=/etc/sysctl.d/60-connectivity-monitor.conf
here=$(cd "$(dirname "$0")" && pwd)
dry=0
mode=install
binary=
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --uninstall) mode=uninstall ;;
    --binary) binary=${2:?--binary needs a path}; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { # step DESCRIPTION -- COMMAND...
  local what=$1; shift; [ "$1" = "--" ] && shift
  echo "==> $what"
  if [ $dry = 1 ]; then echo "    (dry run) $*"; else "$@"; fi
}

if [ $dry = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "deploy.sh: needs root to install into /usr/local/bin and /etc (try: sudo $0 $*)" >&2
  exit 1
fi

if [ $mode = uninstall ]; then
  step "stop and disable the service" -- systemctl disable --now connectivity-monitor.service || true
  step "remove $UNIT" -- rm -f "$UNIT"
  step "remove $BIN" -- rm -f "$BIN"
  step "reload systemd" -- systemctl daemon-reload
  echo "kept: $CONF_DIR (config) and /var/log/connectivity-monitor, /var/lib/connectivity-monitor (logs, state)"
  exit 0
fi

if [ -z "$binary" ]; then
  step "build the release binary" -- cargo build --release --locked --manifest-path "$here/Cargo.toml"
  binary=$here/target/release/connectivity-monitor
fi
step "install $BIN" -- install -m 0755 "$binary" "$BIN"
# The shipped unit names the Debian package's /usr/bin; this install lives in /usr/local/bin.
install_unit() { sed "s|/usr/bin/connectivity-monitor|$BIN|" "$here/packaging/connectivity-monitor.service" > "$UNIT" && chmod 0644 "$UNIT"; }
step "install $UNIT" -- install_unit
step "install $SYSCTL (unprivileged ping)" -- install -m 0644 "$here/packaging/sysctl.d/60-connectivity-monitor.conf" "$SYSCTL"
step "apply it" -- sysctl -q -p "$SYSCTL" || echo "    warning: could not apply $SYSCTL now; ICMP may need CAP_NET_RAW until reboot" >&2
if [ -e "$CONF" ]; then
  echo "==> keep the existing $CONF"
else
  step "install the example config as $CONF" -- install -D -m 0644 "$here/config.example.toml" "$CONF"
fi
if ! step "validate $CONF" -- "$BIN" check-config -c "$CONF" >/dev/null; then
  echo "deploy.sh: $CONF is invalid (see above); fix it, then run deploy.sh again. Not starting." >&2
  exit 1
fi
step "reload systemd" -- systemctl daemon-reload
step "enable and start the service" -- systemctl enable --now connectivity-monitor.service
[ $dry = 1 ] || systemctl is-active --quiet connectivity-monitor.service && echo "connectivity-monitor is running: journalctl -u connectivity-monitor -f"

#!/usr/bin/env bash
# Build and install connectivity-monitor as a systemd service.
#   ./deploy.sh                build, install, enable and start
#   ./deploy.sh --dry-run      print each step without doing it
#   ./deploy.sh --uninstall    remove what it installed; keep config, logs and state
#   ./deploy.sh --binary PATH  install PATH instead of building (e.g. a CI artifact)
#   ./deploy.sh --root DIR     install under DIR (a package or image root): files only,
#                              no systemctl, no sysctl
# Exit status: 0 done, 1 a step failed or the config is invalid, 2 a usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dry=0
mode=install
binary=
root=
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) dry=1 ;;
    --uninstall) mode=uninstall ;;
    --binary) binary=${2:?--binary needs a path}; shift ;;
    --root) root=${2:?--root needs a folder}; root=${root%/}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

BIN=$root/usr/local/bin/connectivity-monitor
UNIT=$root/etc/systemd/system/connectivity-monitor.service
REPORT_UNITS="$root/etc/systemd/system/connectivity-monitor-report.service $root/etc/systemd/system/connectivity-monitor-report.timer"
CONF_DIR=$root/etc/connectivity-monitor
CONF=$CONF_DIR/config.toml
SYSCTL=$root/etc/sysctl.d/60-connectivity-monitor.conf
LOGROTATE=$root/etc/logrotate.d/connectivity-monitor
MAN_DIR=$root/usr/local/share/man/man1
BASH_COMP=$root/usr/local/share/bash-completion/completions/connectivity-monitor
ZSH_COMP=$root/usr/local/share/zsh/site-functions/_connectivity-monitor
FISH_COMP=$root/usr/local/share/fish/vendor_completions.d/connectivity-monitor.fish
# Prometheus alert rules (with their unit tests) and the Grafana dashboard, for a fleet's server.
SHARE=$root/usr/local/share/connectivity-monitor

step() { # step DESCRIPTION -- COMMAND...
  local what=$1; shift; [ "$1" = "--" ] && shift
  echo "==> $what"
  if [ $dry = 1 ]; then echo "    (dry run) $*"; else "$@"; fi
}
# Steps that act on the running system; skipped when installing into --root.
system_step() {
  if [ -n "$root" ]; then echo "==> $1: skipped (--root)"; else step "$@"; fi
}

if [ $dry = 0 ] && [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
  echo "deploy.sh: needs root to install into /usr/local and /etc (try: sudo $0 $*)" >&2
  exit 1
fi

if [ $mode = uninstall ]; then
  system_step "stop and disable the service" -- systemctl disable --now connectivity-monitor.service || true
  system_step "stop and disable the weekly report" -- systemctl disable --now connectivity-monitor-report.timer || true
  for f in "$UNIT" $REPORT_UNITS "$BIN" "$LOGROTATE" "$BASH_COMP" "$ZSH_COMP" "$FISH_COMP" "$MAN_DIR"/connectivity-monitor*.1.gz; do
    [ -e "$f" ] || [ $dry = 1 ] || continue
    step "remove $f" -- rm -f "$f"
  done
  if [ -e "$SHARE" ] || [ $dry = 1 ]; then step "remove $SHARE" -- rm -rf "$SHARE"; fi
  step "remove $SYSCTL (the running kernel keeps ping_group_range until reboot)" -- rm -f "$SYSCTL"
  system_step "reload systemd" -- systemctl daemon-reload
  echo "kept: $CONF_DIR (config) and $root/var/log/connectivity-monitor, $root/var/lib/connectivity-monitor (logs, state)"
  exit 0
fi

if [ -z "$binary" ]; then
  step "build the release binary" -- cargo build --release --locked --manifest-path "$here/Cargo.toml"
  binary=$here/target/release/connectivity-monitor
fi
# Man pages and completions are built beside the binary (build.rs).
assets=$(dirname "$binary")/assets
step "install $BIN" -- install -D -m 0755 "$binary" "$BIN"
# The shipped unit names the Debian package's /usr/bin; this install lives in /usr/local/bin.
install_unit() {
  mkdir -p "$(dirname "$UNIT")"
  sed "s|/usr/bin/connectivity-monitor|/usr/local/bin/connectivity-monitor|" "$here/packaging/connectivity-monitor.service" > "$UNIT"
  chmod 0644 "$UNIT"
}
step "install $UNIT" -- install_unit
# The weekly mailed report: installed, not enabled (systemctl enable --now connectivity-monitor-report.timer).
install_report_units() {
  local f
  for f in $REPORT_UNITS; do
    mkdir -p "$(dirname "$f")"
    sed "s|/usr/bin/connectivity-monitor|/usr/local/bin/connectivity-monitor|" "$here/packaging/$(basename "$f")" > "$f"
    chmod 0644 "$f"
  done
}
step "install the weekly report's service and timer (not enabled)" -- install_report_units
step "install $SYSCTL (unprivileged ping)" -- install -D -m 0644 "$here/packaging/sysctl.d/60-connectivity-monitor.conf" "$SYSCTL"
system_step "apply it" -- sysctl -q -p "$SYSCTL" || echo "    warning: could not apply $SYSCTL now; ICMP may need CAP_NET_RAW until reboot" >&2
step "install $LOGROTATE" -- install -D -m 0644 "$here/packaging/logrotate" "$LOGROTATE"
install_share() {
  install -D -m 0644 -t "$SHARE/prometheus" "$here/packaging/prometheus/alerts.yml" "$here/packaging/prometheus/alerts.test.yml"
  install -D -m 0644 -t "$SHARE/grafana" "$here/packaging/grafana/connectivity-monitor.json"
}
step "install the alert rules and the dashboard in $SHARE" -- install_share
if [ -d "$assets" ] || [ $dry = 1 ]; then
  step "install the man pages in $MAN_DIR" -- install -D -m 0644 -t "$MAN_DIR" "$assets"/connectivity-monitor*.1.gz
  step "install the bash completion" -- install -D -m 0644 "$assets/connectivity-monitor.bash" "$BASH_COMP"
  step "install the zsh completion" -- install -D -m 0644 "$assets/_connectivity-monitor" "$ZSH_COMP"
  step "install the fish completion" -- install -D -m 0644 "$assets/connectivity-monitor.fish" "$FISH_COMP"
else
  echo "==> no man pages or completions beside $binary (no $assets): skipped"
fi
if [ -e "$CONF" ]; then
  echo "==> keep the existing $CONF"
else
  step "install the example config as $CONF" -- install -D -m 0644 "$here/config.example.toml" "$CONF"
fi
# The check's own report goes to stdout only when it fails; the step is always shown.
validate() { local out; out=$("$BIN" check-config -c "$CONF" 2>&1) || { echo "$out" >&2; return 1; }; }
if ! step "validate $CONF" -- validate; then
  echo "deploy.sh: $CONF is invalid (see above); fix it, then run deploy.sh again. Not starting." >&2
  exit 1
fi
system_step "reload systemd" -- systemctl daemon-reload
system_step "enable and start the service" -- systemctl enable --now connectivity-monitor.service
if [ $dry = 1 ]; then
  echo "dry run: nothing was changed"
elif [ -n "$root" ]; then
  echo "installed under $root"
elif systemctl is-active --quiet connectivity-monitor.service; then
  echo "connectivity-monitor is running: journalctl -u connectivity-monitor -f"
else
  echo "deploy.sh: the service did not start: systemctl status connectivity-monitor" >&2
  exit 1
fi

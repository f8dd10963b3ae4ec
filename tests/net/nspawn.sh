#!/usr/bin/env bash
# A throw-away systemd container over an overlay of the host root, for tests.
#   nspawn.sh start NAME NETNS [DIR...]  boot systemd (basic.target) inside network namespace
#                                NETNS, with each DIR bound read-only at its own path; prints its PID 1
#   nspawn.sh stop NAME          halt it and remove its mount and cgroups
# Never starts systemd any other way: nspawn is first moved into its own cgroup,
# so no host process changes cgroup.
set -euo pipefail
cmd=$1; name=$2
run=/run/cm-nspawn/$name

case $cmd in
start)
  netns=$3; shift 3
  binds=()
  # The container has its own /tmp; anything the test needs is bound explicitly.
  for d in "$@"; do binds+=("--bind-ro=$d"); done
  mkdir -p "$run/root"
  mount --bind / "$run/root"                       # non-recursive: nspawn refuses -D /
  for h in systemd unified; do mkdir -p "/sys/fs/cgroup/$h/$name"; done
  sh -c "for h in systemd unified; do echo \$\$ > /sys/fs/cgroup/\$h/$name/cgroup.procs; done
         exec systemd-nspawn -q -D '$run/root' --volatile=overlay --register=no --keep-unit \
              -M '$name' --network-namespace-path=/run/netns/$netns ${binds[*]} -b -- --unit=basic.target" \
    > "$run/console.log" 2>&1 < /dev/null &
  echo $! > "$run/nspawn.pid"
  # Wait for PID 1, then for basic.target: bounded, polling the container's own state.
  for _ in $(seq 200); do
    pid1=$(pgrep -P "$(cat "$run/nspawn.pid")" -x systemd || true)
    if [ -n "$pid1" ] && nsenter -t "$pid1" -a systemctl is-active --quiet basic.target 2>/dev/null; then
      echo "$pid1" > "$run/pid1"; echo "$pid1"; exit 0
    fi
    sleep 0.1
  done
  echo "container $name did not reach basic.target; console:" >&2; cat "$run/console.log" >&2; exit 1
  ;;
stop)
  [ -d "$run" ] || exit 0
  if [ -f "$run/nspawn.pid" ]; then
    pid=$(cat "$run/nspawn.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  umount "$run/root" 2>/dev/null || umount -l "$run/root" 2>/dev/null || true
  for h in systemd unified; do
    [ -d "/sys/fs/cgroup/$h/$name" ] && find "/sys/fs/cgroup/$h/$name" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$run"
  ;;
*) echo "usage: $0 start NAME NETNS | stop NAME" >&2; exit 2 ;;
esac

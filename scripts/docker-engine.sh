#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, starting one if needed. Idempotent: a second run
# (or a run while another worker already started the engine) only checks `docker info` and returns.
#
# Why it exists: the project's machine kind ships the docker client but no engine, and no registry is
# reachable, so CI (.ci/run) installs Debian's docker.io and starts dockerd itself. The daemon flags
# keep it off the host's network configuration: no docker0 bridge, no iptables rules — every container
# the tests start uses host networking on loopback (GUIDE §4, network rule).
#
# Fails loudly (non-zero exit, a message naming the step and the log) if apt or dockerd fail: the
# container tests are part of the suite and must not silently skip.
#
# Environment: DOCKERD_LOG (default /var/log/raft-ipam-dockerd.log), DOCKER_WAIT_S (default 60).
set -euo pipefail

log_file="${DOCKERD_LOG:-/var/log/raft-ipam-dockerd.log}"
wait_s="${DOCKER_WAIT_S:-60}"
t_start=$SECONDS

say() { echo "docker-engine: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# One runner at a time: two workers (or CI and a developer) racing to install and start dockerd would
# fight over the dpkg lock and the daemon's pid file.
exec 9>/tmp/raft-ipam-docker-engine.lock
flock -w 900 9 || die "could not take /tmp/raft-ipam-docker-engine.lock within 900 s"

# Prefer the Debian client (/usr/bin/docker, same engine version) only when /usr/local/bin has none.
engine_up() { docker info >/dev/null 2>&1; }

if engine_up; then
  say "engine already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
fi

apt_updated=0
apt_install() {
  # A fresh machine has no package lists; the lock timeout waits for another apt run instead of failing.
  if [ "$apt_updated" = 0 ]; then
    t=$SECONDS
    apt-get -o DPkg::Lock::Timeout=600 update -qq || die "apt-get update"
    apt_updated=1
    say "apt-get update: $((SECONDS - t)) s"
  fi
  t=$SECONDS
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $*"
  say "apt-get install $*: $((SECONDS - t)) s"
}

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
if [ "${#need[@]}" -gt 0 ]; then
  apt_install "${need[@]}"
fi
command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"
command -v docker-compose >/dev/null 2>&1 || die "docker-compose not found after installing it"

# A stale pid file from a daemon that died (a machine handed back as it was) makes dockerd refuse to start.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  t=$SECONDS
  mkdir -p "$(dirname "$log_file")"
  # setsid + nohup: the daemon outlives this script and the CI step that ran it, and a terminal hangup.
  # containerd is started by dockerd itself (docker.io's dockerd runs its own when none is configured).
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >>"$log_file" 2>&1 </dev/null &
  say "started dockerd (pid $!), log $log_file"
fi

t=$SECONDS
until engine_up; do
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    tail -n 30 "$log_file" >&2 || true
    die "dockerd exited; see $log_file"
  fi
  if [ $((SECONDS - t)) -ge "$wait_s" ]; then
    tail -n 30 "$log_file" >&2 || true
    die "docker info did not answer within ${wait_s} s; see $log_file"
  fi
  sleep 0.5
done
say "engine up ($(docker version --format '{{.Server.Version}}')) after $((SECONDS - t)) s waiting; total $((SECONDS - t_start)) s"

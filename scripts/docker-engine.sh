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

# Whichever docker client comes first on PATH (this machine's /usr/local/bin one or Debian's) will do:
# both negotiate the API version with the engine.
engine_up() { docker info >/dev/null 2>&1; }
running() {
  say "engine already running ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
}
engine_up && running

# One runner at a time: two workers (or CI and a developer) racing to install and start dockerd would
# fight over the dpkg lock and the daemon's pid file. The daemon must not inherit this descriptor (see
# start_dockerd), or it would hold the lock for as long as it runs.
exec 9>/tmp/raft-ipam-docker-engine.lock
flock -w 900 9 || die "could not take /tmp/raft-ipam-docker-engine.lock within 900 s"
# Someone else may have started it while we waited.
engine_up && running

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

# Is this pid a live process (a killed daemon lingers as a zombie until reaped, and kill -0 and pgrep
# both count zombies)?
pid_alive() { [ -n "${1:-}" ] && [ -e "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; }
dockerd_alive() {
  local p
  for p in $(pgrep -x dockerd || true); do pid_alive "$p" && return 0; done
  return 1
}
# Pid files left by a daemon that was killed (a machine handed back as it was, the end of a session):
# dockerd refuses to start over its own, and waits for a containerd that is not there over containerd's
# ("timeout waiting for containerd to start"), seen here when the old one was still a zombie.
remove_stale_pidfiles() {
  rm -f /var/run/docker.pid
  local f=/var/run/docker/containerd/containerd.pid
  if [ -f "$f" ] && ! pid_alive "$(cat "$f" 2>/dev/null)"; then rm -f "$f"; fi
}

log_from=1
show_log() { tail -c "+$log_from" "$log_file" 2>/dev/null | tail -n 30 >&2 || true; }
start_dockerd() {
  remove_stale_pidfiles
  mkdir -p "$(dirname "$log_file")"
  log_from=$(( $(stat -c %s "$log_file" 2>/dev/null || echo 0) + 1 ))
  # setsid + nohup: the daemon outlives this script and the CI step that ran it, and a terminal hangup.
  # dockerd starts and supervises its own containerd.
  setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false >>"$log_file" 2>&1 </dev/null 9>&- &
  say "started dockerd (pid $!), log $log_file"
}

if dockerd_alive; then
  say "a dockerd is running but does not answer yet; waiting for it"
else
  start_dockerd
fi

t=$SECONDS
attempt=1
until engine_up; do
  if ! dockerd_alive; then
    show_log
    # Once more: the first start can trip over what a killed daemon left behind (a containerd that was
    # still exiting); a second failure is real.
    [ "$attempt" -lt 2 ] || die "dockerd exited twice; see $log_file"
    say "dockerd exited; starting it once more"
    attempt=2
    sleep 1
    start_dockerd
  fi
  if [ $((SECONDS - t)) -ge "$wait_s" ]; then
    show_log
    die "docker info did not answer within ${wait_s} s; see $log_file"
  fi
  sleep 0.5
done
say "engine up ($(docker version --format '{{.Server.Version}}')) after $((SECONDS - t)) s waiting; total $((SECONDS - t_start)) s"

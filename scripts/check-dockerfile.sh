#!/usr/bin/env bash
# Build ./Dockerfile itself on a machine with no container registry, to check it: node:20-bookworm-slim
# cannot be pulled here, so this makes a stand-in base image with what the Dockerfile relies on from it —
# node and npm in /usr/local/bin, the user node (1000:1000), a POSIX shell with mkdir/chown/chmod/ln
# (busybox) — and builds the Dockerfile on it (--build-arg NODE_IMAGE). The result is then run: the CLI,
# the `raft-ipam` command, and a one-node cluster that must turn healthy through the image's HEALTHCHECK.
#
#   scripts/check-dockerfile.sh         (manual; not part of CI: the build's npm ci takes a minute or two)
#
# The build's `npm ci` reaches the npm registry over the host network (--network host), as npm does on
# the host. What the stand-in cannot prove: anything specific to the real Debian base (its glibc is
# this machine's, Debian 12's, the same as bookworm's).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "check-dockerfile: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }

base=raft-ipam-node20-standin:local
tag=raft-ipam:dockerfile-check
work="$(mktemp -d)"
cid=""
dangling_before=""
cleanup() {
  [ -z "$cid" ] || docker rm -f "$cid" >/dev/null 2>&1 || true
  docker image rm "$tag" "$base" >/dev/null 2>&1 || true
  # The build stage's image is left untagged (only the last stage gets the tag): remove what this run
  # left dangling, and nothing that was there before.
  local img
  for img in $(docker images -q --filter dangling=true); do
    grep -qx "$img" <<<"$dangling_before" || docker image rm "$img" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

docker info >/dev/null 2>&1 || die "no Docker engine (scripts/docker-engine.sh)"
dangling_before="$(docker images -q --filter dangling=true)"
command -v busybox >/dev/null 2>&1 || {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq busybox-static >/dev/null || die "apt-get install busybox-static"
}
# node and its libraries as the scratch build lays them out.
bash scripts/build-image.sh >/dev/null

t=$SECONDS
root="$work/root"
mkdir -p "$root/bin" "$root/usr/local/lib" "$root/usr/bin" "$root/home/node" "$root/root" "$root/tmp"
cp -a .image/rootfs/. "$root/"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in sh mkdir chown chmod ln rm cp mv cat ls env; do ln -sf busybox "$root/bin/$applet"; done
ln -sf /bin/env "$root/usr/bin/env"
npm_root="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
cp -a "$npm_root" "$root/usr/local/lib/npm"
ln -sf ../lib/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
# This machine reaches the registry through a TLS proxy whose CA is in the system bundle (npm's cafile and
# NODE_EXTRA_CA_CERTS point there); the stand-in carries it, so ./Dockerfile stays free of machine specifics.
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
chown 1000:1000 "$root/home/node"
chmod 1777 "$root/tmp"
cat >"$work/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_VERSION=stand-in NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOF
DOCKER_BUILDKIT=0 docker build --force-rm -q -t "$base" "$work" >/dev/null 2>&1 || die "stand-in base image"
say "stand-in for node:20-bookworm-slim built in $((SECONDS - t)) s"

t=$SECONDS
DOCKER_BUILDKIT=0 docker build --force-rm --network host --build-arg NODE_IMAGE="$base" -t "$tag" . >"$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; die "docker build of ./Dockerfile"; }
say "./Dockerfile built in $((SECONDS - t)) s ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

docker run --rm --network none "$tag" --version >/dev/null || die "raft-ipam --version"
docker run --rm --network none --entrypoint raft-ipam "$tag" --version >/dev/null || die "the raft-ipam command on PATH"
[ "$(docker run --rm --network none --entrypoint node "$tag" -p 'process.getuid()')" = 1000 ] || die "the image does not run as uid 1000"

# One node on a loopback address of its own; healthy = the image's HEALTHCHECK saw /readyz answer 200.
ip=127.0.0.$((20 + RANDOM % 230))
port=$((20000 + RANDOM % 20000))
cid="$(docker run -d --network host \
  -e RAFT_IPAM_NAME=solo -e RAFT_IPAM_DATA_DIR=/var/lib/raft-ipam \
  -e RAFT_IPAM_INITIAL_CLUSTER="solo=$ip:$port" -e RAFT_IPAM_LISTEN_CLIENT="$ip:$((port + 1))" \
  -e RAFT_IPAM_INSECURE=true "$tag" serve)"
for _ in $(seq 60); do
  h="$(docker inspect --format '{{.State.Health.Status}}' "$cid")"
  [ "$h" = healthy ] && break
  [ "$(docker inspect --format '{{.State.Running}}' "$cid")" = true ] || { docker logs "$cid" >&2; die "the node exited"; }
  sleep 1
done
[ "$h" = healthy ] || { docker logs "$cid" | tail -n 20 >&2; die "the node did not turn healthy (last: $h)"; }
docker rm -f -v "$cid" >/dev/null
cid=""
say "OK: ./Dockerfile builds on a node:20 stand-in, runs as uid 1000, serves, and its health check passes"

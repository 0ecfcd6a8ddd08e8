#!/usr/bin/env bash
# Build the raft-ipam container image on a machine with no container registry: the image `Dockerfile`
# would build from node:20-bookworm-slim, made instead FROM scratch (Dockerfile.scratch) out of this
# machine's node binary, the shared libraries it and the native addons need, the compiled app and its
# production node_modules.
#
#   scripts/build-image.sh [TAG]        (default raft-ipam:dev, or $RAFT_IPAM_IMAGE)
#
# Idempotent and quick when nothing changed: each step keeps a hash of its inputs in the staging
# directory (.image/, git-ignored) and is skipped when they match; the image carries a label with the hash
# of the whole build context, and `docker build` is skipped when the tagged image already has it.
# A rebuilt image is smoke-tested: LevelDB (classic-level's native prebuild) and msgpackr's native
# extension must load and work inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

tag="${1:-${RAFT_IPAM_IMAGE:-raft-ipam:dev}}"
stage="$repo/.image"
app="$stage/app"
rootfs="$stage/rootfs"
t_start=$SECONDS

say() { echo "build-image: $*" >&2; }
die() { say "FAILED: $*"; exit 1; }
# sha256 of a list of files' paths and contents (paths relative to the current directory, sorted).
hash_files() { LC_ALL=C sort -z | xargs -0 -r sha256sum | sha256sum | cut -d' ' -f1; }

# Tests (several vitest workers) and CI may call this at the same time: one build at a time, the later
# ones then find everything up to date.
mkdir -p "$stage"
exec 9>"$stage/.lock"
flock -w 600 9 || die "could not lock $stage/.lock within 600 s"

docker info >/dev/null 2>&1 || die "no Docker engine answers (start one with scripts/docker-engine.sh)"
node_bin="$(command -v node)" || die "node is not on PATH"
node_bin="$(readlink -f "$node_bin")"

# 1. Compile into the staging directory (never the work tree's dist/, which may be stale or in use, and
#    a clean output has no files left from deleted sources).
src_hash="$( { find src cluster -type f -print0; printf '%s\0' package.json package-lock.json tsconfig.json tsconfig.build.json; } | hash_files)"
if [ "$(cat "$app/.dist-hash" 2>/dev/null)" != "$src_hash" ] || [ ! -f "$app/dist/src/cli/main.js" ]; then
  t=$SECONDS
  rm -rf "$app/dist"
  npm run --silent build -- --outDir "$app/dist" || die "npm run build"
  echo "$src_hash" >"$app/.dist-hash"
  say "compiled (npm run build) in $((SECONDS - t)) s"
else
  say "dist up to date"
fi
cp package.json "$app/package.json"
cp docker/healthcheck.mjs "$app/healthcheck.mjs"

# 2. Production dependencies, installed from the lock file exactly as the Dockerfile's `npm prune` leaves
#    them. --ignore-scripts: the native addons load the N-API prebuilds they ship (nothing to compile).
deps_hash="$( { printf '%s\0' package.json package-lock.json; } | hash_files)-$("$node_bin" --version)"
if [ "$(cat "$app/.deps-hash" 2>/dev/null)" != "$deps_hash" ] || [ ! -d "$app/node_modules" ]; then
  t=$SECONDS
  rm -rf "$stage/deps" "$app/node_modules"
  mkdir -p "$stage/deps"
  cp package.json package-lock.json "$stage/deps/"
  (cd "$stage/deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null) || die "npm ci --omit=dev"
  mv "$stage/deps/node_modules" "$app/node_modules"
  rm -rf "$stage/deps"
  echo "$deps_hash" >"$app/.deps-hash"
  say "installed production node_modules in $((SECONDS - t)) s ($(du -sh "$app/node_modules" | cut -f1))"
else
  say "production node_modules up to date"
fi

# 3. The root file system: node, every library the dynamic loader will look for (ldd of node and of each
#    native addon that is for this platform), the loader itself, and the few files a process expects.
rm -rf "$rootfs" "$stage/owned"
mkdir -p "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$stage/owned/raft-ipam" "$stage/owned/certs" "$stage/owned/home"
cp "$node_bin" "$rootfs/usr/local/bin/node"
chmod 1777 "$rootfs/tmp"
mapfile -t addons < <(find "$app/node_modules" -name '*.node' -path '*linux-x64*' ! -path '*musl*' -type f)
[ "${#addons[@]}" -gt 0 ] || die "no linux-x64 native addons found in node_modules (classic-level's prebuild expected)"
libs=()
for f in "$node_bin" "${addons[@]}"; do
  out="$(ldd "$f")" || die "ldd $f"
  if grep -q 'not found' <<<"$out"; then die "ldd $f: $(grep 'not found' <<<"$out")"; fi
  # "libx.so => /path (addr)" and the loader line "/lib64/ld-linux-x86-64.so.2 (addr)"; vdso has no file.
  while read -r lib; do libs+=("$lib"); done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$out")
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)
for lib in "${libs[@]}"; do
  # -L: the image gets the file under the path the loader asks for, whatever symlinks lead to it here.
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$rootfs/etc/group"
# Only files and dns: glibc ≥ 2.34 has both built in, so no libnss_*.so is needed.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

# The legacy builder's COPY cache key includes mtimes: the tree above is made anew on every run, so give
# it a fixed one, and an unchanged layer is reused (a rebuild after a source change redoes only app/dist).
find "$rootfs" "$stage/owned" -exec touch -h -d @0 {} +

# 4. Build, unless the image already holds exactly this context.
cp Dockerfile.scratch "$stage/Dockerfile"
ctx_hash="$(cd "$stage" && find rootfs app owned Dockerfile \( -type f -o -type l \) ! -name '.*-hash' -print0 | hash_files)"
have="$(docker image inspect "$tag" --format '{{ index .Config.Labels "org.raft-ipam.context-sha256" }}' 2>/dev/null || true)"
if [ "$have" = "$ctx_hash" ]; then
  say "$tag is up to date (context ${ctx_hash:0:12}); total $((SECONDS - t_start)) s"
  exit 0
fi
t=$SECONDS
# The legacy builder: the engine here has no BuildKit/buildx plugin, and it needs none for COPY only.
DOCKER_BUILDKIT=0 docker build --quiet -f "$stage/Dockerfile" \
  --label "org.raft-ipam.context-sha256=$ctx_hash" \
  --label "org.raft-ipam.node=$("$node_bin" --version)" \
  -t "$tag" "$stage" >/dev/null 2> >(grep -v -i -e deprecated -e "legacy builder" -e buildx -e buildkit -e "environment-variable" -e "^ *$" >&2) || die "docker build"
# The image this tag named before is now untagged: remove it (never one a container still uses).
docker image prune -f --filter "label=org.raft-ipam.context-sha256" >/dev/null || true
say "built $tag in $((SECONDS - t)) s ($(docker image inspect "$tag" --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }'); libraries: ${libs[*]}"

# 5. Smoke test inside the image, no network: the native addons load and LevelDB writes durably in a
#    directory the non-root user owns.
t=$SECONDS
smoke='
const { ClassicLevel } = await import("classic-level");
const { isNativeAccelerationEnabled } = await import("msgpackr");
const db = new ClassicLevel("/var/lib/raft-ipam/smoke", { valueEncoding: "utf8" });
await db.open();
await db.put("k", "v", { sync: true });
const v = await db.get("k");
await db.close();
if (v !== "v") throw new Error("LevelDB read back " + v);
if (!isNativeAccelerationEnabled) throw new Error("msgpackr-extract did not load");
console.log("ok " + process.version + " uid " + process.getuid());
'
out="$(docker run --rm --network none --entrypoint /usr/local/bin/node "$tag" --input-type=module -e "$smoke" 2>&1)" \
  || { docker image rm "$tag" >/dev/null 2>&1 || true; die "smoke test in $tag failed (image removed): $out"; }
docker run --rm --network none "$tag" --version >/dev/null || die "raft-ipam --version in $tag"
say "smoke test: $out ($((SECONDS - t)) s); total $((SECONDS - t_start)) s"

#!/usr/bin/env bash
# The main job, end to end and offline (README's first command, issue 7):
#
#   1. make the base images if missing (busybox, debian:bookworm, node:24) with
#      `berth image bootstrap` (scripts/base-images.sh): no Docker Hub needed;
#   2. start a local registry on 127.0.0.1:5000 as berth's docker.io mirror
#      (scripts/registry-mirror.sh) and push node, debian and busybox into it, so that a
#      store without them pulls them from this stand-in for "Docker Hub";
#   3. the walkthrough: build examples/node-app (FROM node: the local store
#      first), run it with -p 8080:3000, fetch its page, show images, image
#      inspect (with the container made from the image) and ps;
#   4. the seed's other example: `berth run --rm node node -v`;
#   5. "local first, then the registry": remove busybox, run it, watch it pulled;
#   6. clean up: the container goes; images stay, so a second run is fast.
#
# Environment: DEMO_PORT (host port, default 8080), BERTH_MIRROR_ADDR (default
# 127.0.0.1:5000), BERTH (the berth command, default `berth` on PATH).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
[ -x /opt/berth/node/bin/node ] && export PATH=/opt/berth/node/bin:$PATH
if [ -n "${BERTH:-}" ]; then read -r -a berth <<<"$BERTH"; else berth=(berth); fi
port=${DEMO_PORT:-8080}
mirror=${BERTH_MIRROR_ADDR:-127.0.0.1:5000}
name=my-app
t0=$(date +%s.%N)

bold=$'\033[1m' dim=$'\033[2m' off=$'\033[0m'
[ -t 1 ] || { bold='' dim='' off=''; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
step() { printf '\n%s==> %s%s %s(%s s)%s\n' "$bold" "$*" "$off" "$dim" "$(elapsed)" "$off"; }
say() { printf '%s    %s%s\n' "$dim" "$*" "$off"; }
b() { "${berth[@]}" "$@"; }
# berth as the user types it, shown and run.
B() { printf '%s$ berth %s%s\n' "$bold" "$*" "$off"; "${berth[@]}" "$@"; }

cleanup() { b rm -f "$name" >/dev/null 2>&1 || true; }
trap 'rc=$?; if [ $rc -ne 0 ]; then echo "demo failed (exit $rc); removing the $name container" >&2; cleanup; fi' EXIT

step "1/6 Base images (made offline from Debian packages and the npm registry, only when missing)"
say "busybox from the host's busybox-static; debian:bookworm with debootstrap; node:24 = that + Node.js 24 and npm"
BERTH="${berth[*]}" bash scripts/base-images.sh

step "2/6 A local registry as berth's docker.io mirror (the stand-in for Docker Hub)"
BERTH_MIRROR_ADDR=$mirror bash scripts/registry-mirror.sh start
# mirror_has NAME:TAG: the mirror's library/NAME:TAG is already the local image (same config digest).
mirror_has() {
  local id have
  id=$(b image inspect --format '{{.Id}}' "$1") || return 1
  have=$(curl -sf -m 5 -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$mirror/v2/library/${1%%:*}/manifests/${1#*:}" | tr -d ' \n' | grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]\{64\}') || return 1
  [ "$have" = "$id" ]
}
say "pushing node:24, node:latest, debian:bookworm and busybox:latest to it as docker.io/library/* (what is there already is skipped)"
for ref in node:24 node:latest debian:bookworm busybox:latest; do
  if mirror_has "$ref"; then say "$mirror/library/$ref is up to date"; continue; fi
  b tag "$ref" "$mirror/library/$ref"
  B push -q "$mirror/library/$ref"
  b rmi "$mirror/library/$ref" >/dev/null   # only the extra name goes; the image stays
done

step "3/6 The walkthrough: build examples/node-app"
say "examples/node-app/Dockerfile:"
sed 's/^/      /' examples/node-app/Dockerfile
cleanup   # a container left by an interrupted earlier run
B build -t "$name" examples/node-app

step "Run it in the background, port $port on the host to 3000 in the container"
B run -d -p "$port:3000" --name "$name" "$name"
B port "$name"

step "Fetch its page from the host"
printf '%s$ curl -s http://127.0.0.1:%s/%s\n' "$bold" "$port" "$off"
page=
for _ in $(seq 1 150); do   # up to ~30 s for the server to listen
  if page=$(curl -sf -m 2 "http://127.0.0.1:$port/"); then break; fi
  page=
  [ "$(b inspect -f '{{.State.Running}}' "$name")" = true ] || { b logs "$name" >&2 || true; echo "the container stopped" >&2; exit 1; }
  sleep 0.2
done
[ -n "$page" ] || { b logs "$name" >&2 || true; echo "no answer from 127.0.0.1:$port within 30 s" >&2; exit 1; }
printf '%s\n' "$page"
B logs "$name"

step "What berth shows about it"
B images
B image inspect --format '{{.Id}} {{json .RepoTags}} Cmd={{json .Config.Cmd}} WorkingDir={{.Config.WorkingDir}} Layers={{len .RootFS.Layers}}' "$name"
say "the containers made from it (berth's addition to the Engine API's image inspect):"
B image inspect --format '{{json .Containers}}' "$name"
say "(the whole JSON: berth image inspect $name)"
B ps

step "4/6 The seed's other example: a one-off command in the node image"
B run --rm node node -v
say "'berth run -it node' opens a Node REPL in your terminal; here its input comes from a pipe:"
printf '%s$ printf %s | berth run -i --rm node node -i%s\n' "$bold" "'process.version\\n[1, 2, 3].map((x) => x * 2)\\n'" "$off"
printf 'process.version\n[1, 2, 3].map((x) => x * 2)\n' | b run -i --rm node node -i
echo

step "5/6 Local store first, then the registry"
B rmi busybox
B run --rm busybox echo "pulled from the mirror"

step "6/6 Clean up: remove the container (images stay, so the next run is fast)"
B rm -f "$name"
B ps -a --filter "name=^$name\$"

step "Done in $(elapsed) s"

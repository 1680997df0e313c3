#!/usr/bin/env bash
# Makes the base images the walkthrough starts from, without Docker Hub, with
# `berth image bootstrap` (host Debian packages + debootstrap + the npm registry):
#
#   busybox:latest                      from the host's busybox-static (seconds)
#   debian:bookworm, debian:bookworm-slim   debootstrap minbase, slimmed (about a minute the first time)
#   node:24, node:latest, node:lts      the Debian layer + Node.js 24 and npm (about 30 s more)
#
# Only missing images are made, so a second run takes well under a second.
# The host's extra CAs (/usr/local/share/ca-certificates) are trusted in the
# images when it has any (berth's default); pass --no-host-ca to leave them out.
# SOURCE_DATE_EPOCH, when set, pins the images' dates (default 2025-01-01).
#
#   scripts/base-images.sh [--no-host-ca] [--mirror URL] [--force]
#   BERTH=/path/to/berth scripts/base-images.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -n "${BERTH:-}" ]; then
  read -r -a berth <<<"$BERTH"
elif command -v berth >/dev/null 2>&1; then
  berth=(berth)
else
  node=/opt/berth/node/bin/node
  [ -x "$node" ] || node=node
  berth=("$node" --disable-warning=ExperimentalWarning "$here/src/bin/berth.ts")
fi

force=0
node_version=24
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --force) force=1 ;;
    --no-host-ca|--host-ca|-q) opts+=("$1") ;;
    --node-version) node_version=${2:?$1 needs a value}; opts+=("$1" "$2"); shift ;;
    --node-version=*) node_version=${1#*=}; opts+=("$1") ;;
    --mirror) opts+=("$1" "${2:?$1 needs a value}"); shift ;;
    --mirror=*) opts+=("$1") ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "base-images.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# One listing of what exists (a berth process costs ~0.2 s; checking each tag apart would add up).
existing=$("${berth[@]}" images --format '{{.Repository}}:{{.Tag}}')
has() { grep -qxF "$1" <<<"$existing"; }

# ensure KIND TAG...: bootstraps KIND (with its default tags) when any TAG is missing.
ensure() {
  local kind=$1; shift
  local missing=()
  for t in "$@"; do has "$t" || missing+=("$t"); done
  if [ "$force" = 0 ] && [ ${#missing[@]} -eq 0 ]; then
    say "$kind: $* present"
    return
  fi
  say "$kind: making ${missing[*]:-$*}"
  local start=$SECONDS
  "${berth[@]}" image bootstrap "${opts[@]}" "$kind"
  say "$kind: done in $((SECONDS - start)) s"
}

ensure busybox busybox:latest
ensure debian debian:bookworm debian:bookworm-slim
if [ "$node_version" = 24 ]; then
  ensure node node:24 node:latest node:lts
else
  ensure node "node:$node_version"
fi

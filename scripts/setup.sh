#!/usr/bin/env bash
# Sets up everything berth and its tests need on a Debian 12 machine, as root,
# then optionally runs a job:
#   scripts/setup.sh            set up only
#   scripts/setup.sh demo       set up, then run the main job (the walkthrough)
#   scripts/setup.sh test       set up, then run the whole test suite
# Running it again is harmless: each step checks before it acts.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# 1. Debian packages: the OCI runtime, conmon, networking, tools the tests use.
packages=(runc crun conmon iptables attr tini busybox-static docker-registry skopeo umoci
  containernetworking-plugins ca-certificates git python3-minimal tar debootstrap curl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Node.js >= 22. The machine's Node is left alone; an older one gets a private
#    Node 24 LTS from the npm registry's `node` package under /opt/berth/node.
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
NODE=$(command -v node || true)
if [ -z "$NODE" ] || [ "$(node_major "$NODE")" -lt 22 ]; then
  NODE=/opt/berth/node/bin/node
  if [ ! -x "$NODE" ] || [ "$(node_major "$NODE")" -lt 22 ]; then
    say "installing Node.js 24 LTS into /opt/berth/node (the machine's node stays as it is)"
    mkdir -p /opt/berth/node
    npm install -g --prefix /opt/berth/node --no-fund --no-audit node@24 >/dev/null 2>&1
  fi
fi
"$NODE" -e 'if (+process.versions.node.split(".")[0] < 22) process.exit(1)' || { echo "Node >= 22 is required" >&2; exit 1; }
export PATH="$(dirname "$NODE"):$PATH"

# 3. npm dependencies, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-fund --no-audit >/dev/null
fi

# 4. The berth command, on PATH. Its entry is berth.mjs: plain JavaScript that serves
#    type-stripped sources from a cache (src/bin/ts-cache.mjs), so that a warm start
#    does not load Node's TypeScript stripper (~50 ms a command).
cat > /usr/local/bin/berth.tmp <<EOS
#!/bin/sh
exec "$NODE" --disable-warning=ExperimentalWarning "$here/src/bin/berth.mjs" "\$@"
EOS
chmod 755 /usr/local/bin/berth.tmp
mv -f /usr/local/bin/berth.tmp /usr/local/bin/berth

case "${1:-}" in
  "") say "berth is set up: $(berth version --format '{{.Client.Version}}' 2>/dev/null || echo installed)" ;;
  demo) shift; exec bash "$here/scripts/demo.sh" "$@" ;;
  test) shift; exec bash "$here/scripts/test.sh" "$@" ;;
  *) echo "usage: $0 [demo|test]" >&2; exit 2 ;;
esac

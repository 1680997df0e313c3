#!/usr/bin/env bash
# A local stand-in for Docker Hub: Debian's docker-registry (the CNCF
# distribution server) on 127.0.0.1:5000, which berth uses as its docker.io
# mirror. Images pushed to it as 127.0.0.1:5000/library/NAME:TAG are what
# `berth pull NAME:TAG` (and `FROM NAME`, and `run` of a missing image) get.
#
#   scripts/registry-mirror.sh [start]   start it (or reuse the one running) and
#                                        add it to berth's registry-mirrors
#   scripts/registry-mirror.sh stop      stop the one this script started
#   scripts/registry-mirror.sh status    say whether it runs; exit 1 when not
#
# Data: /var/lib/berth-mirror (registry/ blobs, config.yml, registry.pid,
# registry.log). Running `start` again changes nothing.
# Environment: BERTH_MIRROR_ADDR (default 127.0.0.1:5000), BERTH_MIRROR_DIR
# (default /var/lib/berth-mirror), BERTH_CONFIG (default /etc/berth/config.json).
set -euo pipefail
addr=${BERTH_MIRROR_ADDR:-127.0.0.1:5000}
dir=${BERTH_MIRROR_DIR:-/var/lib/berth-mirror}
config=${BERTH_CONFIG:-/etc/berth/config.json}
url="http://$addr"
pidfile="$dir/registry.pid"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { echo "registry-mirror.sh: $*" >&2; exit 1; }

# answers: the address serves the registry API (GET /v2/ is 200 or 401).
answers() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url/v2/" 2>/dev/null) || return 1
  [ "$code" = 200 ] || [ "$code" = 401 ]
}
our_pid() {
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa docker-registry "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

# Adds the mirror to registry-mirrors in berth's config file, keeping every other key.
configure_berth() {
  local node
  node=$(command -v node || true)
  [ -x /opt/berth/node/bin/node ] && node=/opt/berth/node/bin/node
  [ -n "$node" ] || die "node is needed to edit $config (run scripts/setup.sh)"
  mkdir -p "$(dirname "$config")"
  "$node" - "$config" "$url" <<'JS'
const fs = require("node:fs");
const [file, url] = process.argv.slice(2);
let cfg = {};
try { cfg = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { if (e.code !== "ENOENT") throw new Error(`${file}: ${e.message}`); }
if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) throw new Error(`${file}: not a JSON object`);
const mirrors = Array.isArray(cfg["registry-mirrors"]) ? cfg["registry-mirrors"] : [];
if (mirrors.includes(url)) { console.error(`${file}: registry-mirrors already has ${url}`); process.exit(0); }
cfg["registry-mirrors"] = [url, ...mirrors];
const tmp = `${file}.tmp-${process.pid}`;
fs.writeFileSync(tmp, JSON.stringify(cfg, null, 2) + "\n");
fs.renameSync(tmp, file);
console.error(`${file}: registry-mirrors = ${JSON.stringify(cfg["registry-mirrors"])}`);
JS
}

start() {
  command -v docker-registry >/dev/null || die "docker-registry is not installed (apt-get install docker-registry, or run scripts/setup.sh)"
  local pid
  if pid=$(our_pid) && answers; then
    say "mirror: docker-registry already serving $url (pid $pid)"
  elif answers; then
    say "mirror: a registry already serves $url (not started by this script); using it"
  else
    mkdir -p "$dir/registry"
    cat > "$dir/config.yml" <<YAML
# Written by berth's scripts/registry-mirror.sh: a local stand-in for Docker Hub.
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
http:
  addr: $addr
YAML
    say "mirror: starting docker-registry on $url (data in $dir/registry)"
    setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    # Wait (bounded) for the API to answer.
    local i
    for i in $(seq 1 100); do
      answers && break
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { tail -n 20 "$dir/registry.log" >&2; die "docker-registry exited; see $dir/registry.log"; }
      sleep 0.1
    done
    answers || die "docker-registry did not answer on $url within 10 s; see $dir/registry.log"
  fi
  configure_berth
}

stop() {
  local pid
  if pid=$(our_pid); then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    rm -f "$pidfile"
    say "mirror: stopped (pid $pid); its data stays in $dir/registry"
  else
    rm -f "$pidfile"
    say "mirror: not running (from this script)"
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status)
    if pid=$(our_pid) && answers; then echo "running: $url (pid $pid)"
    elif answers; then echo "running: $url (not started by this script)"
    else echo "not running"; exit 1; fi ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

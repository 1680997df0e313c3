#!/usr/bin/env bash
# The main job, as far as berth goes today: make a busybox image offline from
# Debian's busybox-static, and walk it through the image store.
# (The Node walkthrough — build, run -p, curl — replaces this as it lands.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "Making a busybox root filesystem from the host's busybox-static"
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/busybox"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$work/rootfs/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/rootfs/etc/passwd"
echo 'root:x:0:' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" --numeric-owner -cf "$work/busybox.tar" .

step "berth import busybox.tar busybox:latest"
berth import -c 'CMD ["sh"]' "$work/busybox.tar" busybox:latest
step "berth tag busybox:latest demo/busybox:1.0"
berth tag busybox:latest demo/busybox:1.0
step "berth images"
berth images
step "berth image inspect busybox (selected fields)"
berth image inspect --format 'Id={{.Id}} Cmd={{json .Config.Cmd}} Layers={{len .RootFS.Layers}} Size={{.Size}}' busybox
step "berth history busybox"
berth history busybox
step "berth save busybox | berth load (round trip)"
berth save -o "$work/busybox-saved.tar" busybox
berth load -i "$work/busybox-saved.tar"
step "berth rmi demo/busybox:1.0 (one of two tags: only untags)"
berth rmi demo/busybox:1.0
step "berth system df"
berth system df

/**
 * The debian and node kinds for real: debootstrap from the host's Debian
 * mirror and Node.js + npm from the npm registry. Minutes and network, so
 * only with BERTH_SLOW_TESTS=1 (plus root and debootstrap):
 *
 *   BERTH_SLOW_TESTS=1 node --test test/integration/bootstrap/slow.test.ts
 *
 * Proves: debian:bookworm(-slim) is slim (no apt lists, docs or man pages),
 * trusts the host's extra CAs when it has any, and records its packages; the
 * node image shares the Debian layer byte for byte, has node/npm/npx and the
 * node user, runs `node -v` through its entrypoint, `npm install`s express
 * through the host's TLS setup; a second bootstrap of each is fast and gives
 * the same image ID.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "../../../src/core/index.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { loadEngineConfig } from "../../../src/engine/config.ts";
import { imageBootstrap, type ImageBootstrapReport } from "../../../src/engine/image-bootstrap.ts";
import { hostExtraCAs, removeTree } from "../../../src/bootstrap/index.ts";
import type { ImageConfig, ImageManifest } from "../../../src/oci/index.ts";
import { requires } from "../../../src/testing/requires.ts";

const skip = process.env["BERTH_SLOW_TESTS"] !== "1" ? "set BERTH_SLOW_TESTS=1 (needs the Debian mirror and the npm registry; minutes)" : requires("root");
const CHROOT = "/usr/sbin/chroot";

describe("image bootstrap debian and node", { skip, timeout: 15 * 60_000 }, () => {
  let work: string;
  let e: Engine;
  let debian: ImageBootstrapReport;
  let node: ImageBootstrapReport;
  const hostCAs = hostExtraCAs();
  const times: Record<string, number> = {};

  const timed = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await f();
    } finally {
      times[name] = Math.round(performance.now() - t) / 1000;
    }
  };
  const config = async (id: Digest) => JSON.parse((await e.ctx.content.readBytes(id)).toString()) as ImageConfig;
  /** Unpacks an image's layers in order into a fresh directory (no whiteouts in these images). */
  const unpack = async (r: ImageBootstrapReport, dest: string) => {
    mkdirSync(dest, { recursive: true });
    const m = JSON.parse((await e.ctx.content.readBytes(e.ctx.images.get(r.id).target.digest)).toString()) as ImageManifest;
    for (const l of m.layers) execFileSync("tar", ["-xzf", await e.ctx.content.path(l.digest as Digest), "-C", dest, "--numeric-owner"]);
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "berth-bootstrap-slow-"));
    e = await Engine.open(loadEngineConfig({ BERTH_ROOT: join(work, "root"), BERTH_RUNROOT: join(work, "run"), BERTH_CONFIG: join(work, "none.json") }));
    debian = await timed("debian (cold)", () => imageBootstrap(e.ctx, { kind: "debian" }));
    node = await timed("node (debian cached)", () => imageBootstrap(e.ctx, { kind: "node" }));
  });
  after(async () => {
    e?.close();
    // unmounts the /proc a failed test may have left, never deletes across filesystems
    if (work !== undefined) await removeTree(work);
    console.log("bootstrap timings (s):", JSON.stringify(times));
  });

  test("debian: tagged bookworm and bookworm-slim, CMD bash, packages recorded", async () => {
    assert.deepEqual(debian.tags, ["debian:bookworm", "debian:bookworm-slim"]);
    const c = await config(debian.id);
    assert.deepEqual(c.config?.Cmd, ["bash"]);
    assert.equal(c.rootfs.diff_ids.length, 1);
    const pkgs = (c.config?.Labels?.["io.berth.bootstrap.debian.packages"] ?? "").split(" ");
    assert.ok(pkgs.some((p) => /^ca-certificates=\d/.test(p)), "ca-certificates recorded");
    assert.ok(pkgs.some((p) => /^bash=\d/.test(p)));
    assert.equal(c.config?.Labels?.["io.berth.bootstrap.host-ca"], hostCAs.length > 0 ? hostCAs.join(",") : "false");
  });

  test("debian: slim, no host leftovers, host CAs in the bundle, bash and apt-get run", async () => {
    const fs = join(work, "debian-fs");
    await unpack(debian, fs);
    assert.deepEqual(readdirSync(join(fs, "var/lib/apt/lists")).filter((n) => n !== "partial" && n !== "lock"), []);
    assert.deepEqual(readdirSync(join(fs, "usr/share/man")), []);
    assert.deepEqual(readdirSync(join(fs, "usr/share/doc/bash")), ["copyright"]);
    assert.deepEqual(readdirSync(join(fs, "dev")), []);
    assert.equal(readFileSync(join(fs, "etc/resolv.conf"), "utf8"), "");
    const bundle = readFileSync(join(fs, "etc/ssl/certs/ca-certificates.crt"), "utf8");
    for (const ca of hostCAs) {
      const pem = readFileSync(join("/usr/local/share/ca-certificates", ca), "utf8").trim().split("\n").slice(1, 3).join("\n");
      assert.ok(bundle.includes(pem), `${ca} is in the image's CA bundle`);
    }
    const out = execFileSync(CHROOT, [fs, "/bin/bash", "-c", "echo $BASH_VERSION; apt-get --version | head -1"], { encoding: "utf8", env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" } });
    assert.match(out, /^5\.\d.*\napt \d/);
  });

  test("node: two layers, the first is the debian layer; env, entrypoint, cmd and labels", async () => {
    assert.deepEqual(node.tags, ["node:24", "node:latest", "node:lts"]);
    assert.equal(node.layers.length, 2);
    assert.deepEqual(node.layers[0], debian.layers[0]);
    const c = await config(node.id);
    const version = c.config?.Labels?.["io.berth.bootstrap.node.version"] ?? "";
    assert.match(version, /^24\.\d+\.\d+$/);
    assert.ok(c.config?.Env?.includes(`NODE_VERSION=${version}`));
    assert.equal(c.config?.Env?.includes("NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"), hostCAs.length > 0);
    assert.deepEqual(c.config?.Entrypoint, ["docker-entrypoint.sh"]);
    assert.deepEqual(c.config?.Cmd, ["node"]);
    assert.match(c.config?.Labels?.["io.berth.bootstrap.npm.version"] ?? "", /^11\.\d+\.\d+$/);
  });

  test("node: node -v through the entrypoint, npm and npx, the node user, npm install express", async () => {
    const fs = join(work, "node-fs");
    await unpack(node, fs);
    const c = await config(node.id);
    // what a runtime would provide: name resolution and /proc
    copyFileSync("/etc/resolv.conf", join(fs, "etc/resolv.conf"));
    execFileSync("mknod", ["-m", "666", join(fs, "dev/null"), "c", "1", "3"]);
    execFileSync("mount", ["-t", "proc", "proc", join(fs, "proc")]);
    mkdirSync(join(fs, "app"));
    writeFileSync(join(fs, "app/package.json"), JSON.stringify({ name: "app", version: "1.0.0", dependencies: { express: "^4.21.0" } }));
    const env = Object.fromEntries((c.config?.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    const sh = (script: string, timeout = 60_000) =>
      execFileSync(CHROOT, [fs, "/bin/sh", "-c", script], { encoding: "utf8", env: { ...env, HOME: "/root" }, timeout });
    assert.equal(sh("docker-entrypoint.sh -v").trim(), `v${env["NODE_VERSION"]}`);
    assert.equal(sh("docker-entrypoint.sh node -p 1+1").trim(), "2");
    assert.match(sh("npm -v && npx -v"), /^11\.\d+\.\d+\n11\.\d+\.\d+\n$/);
    assert.equal(sh("id node").trim(), "uid=1000(node) gid=1000(node) groups=1000(node)");
    const install = await timed("npm install express", async () =>
      sh("cd /app && npm install --no-audit --no-fund --loglevel=error && node -e 'require(\"express\"); console.log(\"express ok\")'", 180_000),
    );
    assert.match(install, /express ok/);
    execFileSync("umount", [join(fs, "proc")]);
  });

  test("a second bootstrap reuses the caches and gives the same IDs", async () => {
    const d2 = await timed("debian (cached)", () => imageBootstrap(e.ctx, { kind: "debian", reference: "debian:again" }));
    const n2 = await timed("node (cached)", () => imageBootstrap(e.ctx, { kind: "node", reference: "node:again" }));
    assert.equal(d2.id, debian.id);
    assert.equal(n2.id, node.id);
    assert.ok((times["node (cached)"] ?? 99) < 15, `node again took ${times["node (cached)"]} s`);
  });

  test("--no-host-ca makes a different Debian layer without the host's CAs", { skip: hostCAs.length === 0 ? "host has no extra CAs" : false }, async () => {
    const plain = await timed("debian --no-host-ca", () => imageBootstrap(e.ctx, { kind: "debian", reference: "debian:plain", hostCA: false }));
    assert.notEqual(plain.layers[0]!.diffId, debian.layers[0]!.diffId);
    const c = await config(plain.id);
    assert.equal(c.config?.Labels?.["io.berth.bootstrap.host-ca"], "false");
  });
});

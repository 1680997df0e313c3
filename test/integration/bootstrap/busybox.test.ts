/**
 * `image bootstrap busybox` end to end against a private berth root: the image
 * runs (its rootfs has the applets and a working sh), carries CMD ["sh"], is
 * reproducible for one SOURCE_DATE_EPOCH, and a cancelled or refused bootstrap
 * leaves no tag and no scratch directory. The CLI verb is driven in-process.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { command } from "../../../src/cli/image/bootstrap.ts";
import type { CliContext } from "../../../src/cli/context.ts";
import { FlagSet } from "../../../src/cli/flags.ts";
import type { Digest } from "../../../src/core/index.ts";
import { Engine } from "../../../src/engine/engine.ts";
import { loadEngineConfig } from "../../../src/engine/config.ts";
import { imageBootstrap, type ImageBootstrapReport } from "../../../src/engine/image-bootstrap.ts";
import type { ImageConfig, ImageManifest } from "../../../src/oci/index.ts";
import { requires } from "../../../src/testing/requires.ts";

const skip = requires("root", "busybox");

async function openEngine(root: string, env: Record<string, string> = {}): Promise<Engine> {
  return Engine.open(loadEngineConfig({ BERTH_ROOT: join(root, "root"), BERTH_RUNROOT: join(root, "run"), BERTH_CONFIG: join(root, "none.json"), ...env }));
}

async function readJson<T>(e: Engine, d: Digest): Promise<T> {
  return JSON.parse((await e.ctx.content.readBytes(d)).toString("utf8")) as T;
}

/** Unpacks a gzip layer blob with the host's tar (numeric owners kept). */
async function unpackLayer(e: Engine, digest: Digest, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  execFileSync("tar", ["-xzf", await e.ctx.content.path(digest), "-C", dest, "--numeric-owner"]);
}

async function layerEntries(e: Engine, digest: Digest): Promise<Map<string, tar.Header>> {
  const out = new Map<string, tar.Header>();
  const ex = tar.extract();
  ex.on("entry", (h, s, next) => {
    out.set(h.name, h);
    s.on("end", next);
    s.resume();
  });
  const done = new Promise<void>((res, rej) => {
    ex.on("finish", res);
    ex.on("error", rej);
  });
  (await e.ctx.content.openRead(digest)).pipe(createGunzip()).pipe(ex);
  await done;
  return out;
}

function scratchDirs(e: Engine): string[] {
  const d = join(e.ctx.content.root, "tmp");
  return existsSync(d) ? readdirSync(d).filter((n) => n.startsWith("bootstrap-")) : [];
}

describe("image bootstrap busybox", { skip }, () => {
  let work: string;
  let e: Engine;
  let report: ImageBootstrapReport;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "berth-bootstrap-"));
    e = await openEngine(join(work, "a"), { SOURCE_DATE_EPOCH: "1700000000" });
    report = await imageBootstrap(e.ctx, { kind: "busybox" });
  });
  after(() => {
    e?.close();
    rmSync(work, { recursive: true, force: true });
  });

  test("tags busybox:latest with CMD sh, PATH and labels, created at SOURCE_DATE_EPOCH", async () => {
    assert.deepEqual(report.tags, ["busybox:latest"]);
    assert.equal(e.ctx.images.resolveTag("docker.io/library/busybox:latest"), report.id);
    const cfg = await readJson<ImageConfig>(e, report.id);
    assert.deepEqual(cfg.config?.Cmd, ["sh"]);
    assert.deepEqual(cfg.config?.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    assert.equal(cfg.created, "2023-11-14T22:13:20.000Z");
    assert.equal(cfg.rootfs.diff_ids.length, 1);
    assert.equal(cfg.config?.Labels?.["io.berth.bootstrap.kind"], "busybox");
    assert.match(cfg.config?.Labels?.["org.opencontainers.image.version"] ?? "", /^\d+\.\d+\.\d+$/);
    assert.match(cfg.config?.Labels?.["io.berth.bootstrap.debian.packages"] ?? "", /^busybox-static=/);
    assert.equal(scratchDirs(e).length, 0);
  });

  test("the layer holds busybox, every applet as a link, accounts, /tmp 1777; all mtimes clamped", async () => {
    const img = e.ctx.images.get(report.id);
    const manifest = await readJson<ImageManifest>(e, img.target.digest);
    const entries = await layerEntries(e, manifest.layers[0]!.digest as Digest);
    const applets = execFileSync("busybox", ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a !== "" && a !== "busybox");
    assert.ok(applets.length > 100);
    for (const a of applets) {
      const h = entries.get(`bin/${a}`);
      assert.equal(h?.type, "symlink", a);
      assert.equal(h?.linkname, "busybox");
    }
    assert.equal(entries.get("bin/busybox")?.type, "file");
    assert.equal(entries.get("tmp/")?.mode, 0o1777);
    assert.equal(entries.get("root/")?.mode, 0o700);
    assert.ok(entries.has("etc/passwd") && entries.has("etc/group"));
    for (const h of entries.values()) {
      assert.ok(h.mtime !== undefined && h.mtime.getTime() <= 1700000000 * 1000, h.name);
      assert.equal(h.uid, 0, h.name);
    }
  });

  test("the root filesystem runs: sh, ls and id work in a chroot", async () => {
    const img = e.ctx.images.get(report.id);
    const manifest = await readJson<ImageManifest>(e, img.target.digest);
    const rootfs = join(work, "unpacked");
    await unpackLayer(e, manifest.layers[0]!.digest as Digest, rootfs);
    assert.equal(readlinkSync(join(rootfs, "bin/sh")), "busybox");
    assert.equal(lstatSync(join(rootfs, "tmp")).mode & 0o7777, 0o1777);
    const out = execFileSync("/usr/sbin/chroot", [rootfs, "/bin/sh", "-c", "ls /bin/busybox && id -un && echo ok"], { encoding: "utf8", env: { PATH: "/bin" } });
    assert.equal(out, "/bin/busybox\nroot\nok\n");
  });

  test("reproducible: a fresh root with the same SOURCE_DATE_EPOCH gives the same ID; another epoch does not", async () => {
    const e2 = await openEngine(join(work, "b"), { SOURCE_DATE_EPOCH: "1700000000" });
    try {
      const r2 = await imageBootstrap(e2.ctx, { kind: "busybox", reference: "bb:repro" });
      assert.equal(r2.id, report.id);
      assert.deepEqual(r2.layers, report.layers);
      const r3 = await imageBootstrap(e2.ctx, { kind: "busybox", reference: "bb:other", sourceDateEpoch: 1600000000 });
      assert.notEqual(r3.id, report.id);
      assert.notEqual(r3.layers[0]!.diffId, report.layers[0]!.diffId);
    } finally {
      e2.close();
    }
  });

  test("without SOURCE_DATE_EPOCH the fixed default epoch (2025-01-01) is used", async () => {
    const e3 = await openEngine(join(work, "c"));
    try {
      const r = await imageBootstrap(e3.ctx, { kind: "busybox" });
      const cfg = await readJson<ImageConfig>(e3, r.id);
      assert.equal(cfg.created, "2025-01-01T00:00:00.000Z");
      const again = await imageBootstrap(e3.ctx, { kind: "busybox", reference: "busybox:again" });
      assert.equal(again.id, r.id);
    } finally {
      e3.close();
    }
  });

  test("cancelled or refused bootstraps tag nothing and leave no scratch directory", async () => {
    const e4 = await openEngine(join(work, "d"));
    try {
      const ac = new AbortController();
      await assert.rejects(
        imageBootstrap(e4.ctx, { kind: "busybox", reference: "cancelled:1", signal: ac.signal, onProgress: () => ac.abort(new Error("stop")) }),
        { kind: "cancelled" },
      );
      await assert.rejects(imageBootstrap(e4.ctx, { kind: "busybox", reference: "x:1", platform: { os: "linux", architecture: "s390x-nope" } }), {
        kind: "invalid-parameter",
      });
      await assert.rejects(imageBootstrap(e4.ctx, { kind: "busybox", reference: "x@sha256:" + "a".repeat(64) }), { kind: "invalid-parameter" });
      await assert.rejects(imageBootstrap(e4.ctx, { kind: "nope" as "busybox" }), { kind: "invalid-parameter" });
      assert.deepEqual(e4.ctx.images.allTags(), []);
      assert.deepEqual(scratchDirs(e4), []);
    } finally {
      e4.close();
    }
  });

  test("the CLI verb prints progress, Tagged lines and the ID; -q only the ID", async () => {
    const run = async (argv: string[]) => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on("data", (c: Buffer) => chunks.push(c));
      const ctx: CliContext = {
        io: { stdin: new PassThrough(), stdout: out, stderr: new PassThrough(), env: {}, signal: new AbortController().signal },
        config: e.ctx.config,
        engine: async () => e,
        prog: "berth",
      };
      const code = await command.run(ctx, new FlagSet(command.flags).parse(argv));
      return { code, stdout: Buffer.concat(chunks).toString("utf8") };
    };
    const q = await run(["-q", "busybox", "mybox:1"]);
    assert.equal(q.code, 0);
    assert.equal(q.stdout, `${report.id}\n`);
    const v = await run(["busybox", "mybox:2"]);
    assert.match(v.stdout, /Layer 1\/1: [0-9a-f]{12} /);
    assert.match(v.stdout, new RegExp(`Tagged mybox:2\\n${report.id}\\n$`));
    await assert.rejects(run(["windows"]), { kind: "invalid-parameter" });
    await assert.rejects(run(["--host-ca", "--no-host-ca", "debian"]), { kind: "invalid-parameter" });
  });
});

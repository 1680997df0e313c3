import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { digestOf, kindOf, type Digest } from "../core/index.ts";
import { chainIds, MAX_MOUNT_DATA, OverlaySnapshotter, type LayerApplyFn } from "./overlay-snapshotter.ts";
import { makeLayerTar, openFrom, simpleApply } from "./testing/simple-apply.ts";

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), "berth-snap-"));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test("chainIds follows image-spec config.md", () => {
  const a = digestOf("a");
  const b = digestOf("b");
  const c = digestOf("c");
  const ab = `sha256:${createHash("sha256").update(`${a} ${b}`).digest("hex")}`;
  const abc = `sha256:${createHash("sha256").update(`${ab} ${c}`).digest("hex")}`;
  assert.deepEqual(chainIds([]), []);
  assert.deepEqual(chainIds([a]), [a]);
  assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
  // the same diff on a different parent is a different chain
  assert.notEqual(chainIds([b, c])[1], abc);
});

test("ensureLayers unpacks each layer once, under its chain ID, topmost first", async () => {
  await withRoot(async (root) => {
    const l0 = await makeLayerTar([{ name: "etc/", type: "directory" }, { name: "etc/os", content: "base" }]);
    const l1 = await makeLayerTar([{ name: "app.txt", content: "app" }]);
    let applied = 0;
    const counting: LayerApplyFn = (t, d, o) => {
      applied++;
      return simpleApply(t, d, o);
    };
    const s = new OverlaySnapshotter({ root, apply: counting, durable: false });
    const diffIds = [l0.diffId, l1.diffId];
    const lowers = await s.ensureLayers({ diffIds, open: openFrom([l0.tar, l1.tar]) });
    const chains = chainIds(diffIds);
    assert.deepEqual(lowers, [s.layerDiffDir(chains[1] as Digest), s.layerDiffDir(chains[0] as Digest)]);
    assert.equal(await readFile(join(lowers[1] as string, "etc/os"), "utf8"), "base");
    assert.equal(await readFile(join(lowers[0] as string, "app.txt"), "utf8"), "app");
    assert.deepEqual(await s.listLayers(), [...chains].sort());
    assert.deepEqual(await s.layerMeta(chains[1] as Digest), { chainId: chains[1], diffId: l1.diffId, size: 3 });
    assert.equal(applied, 2);
    // second time: nothing to do, open is never called
    const again = await s.ensureLayers({ diffIds, open: () => Promise.reject(new Error("must not open")) });
    assert.deepEqual(again, lowers);
    assert.equal(applied, 2);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
  });
});

test("a diffID mismatch is data-loss and publishes nothing", async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const real = await makeLayerTar([{ name: "x", content: "x" }]);
    const claimed = digestOf("something else");
    await assert.rejects(s.ensureLayers({ diffIds: [claimed], open: openFrom([real.tar]) }), (err: Error) => {
      assert.equal(kindOf(err), "data-loss");
      assert.match(err.message, new RegExp(claimed));
      return true;
    });
    assert.deepEqual(await s.listLayers(), []);
    assert.deepEqual(await readdir(join(root, "layers")), []);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
  });
});

test("concurrent ensureLayers of the same layers both succeed with one copy", async () => {
  await withRoot(async (root) => {
    const layers = await Promise.all([0, 1, 2].map((i) => makeLayerTar([{ name: `f${i}`, content: `layer ${i}` }])));
    const diffIds = layers.map((l) => l.diffId);
    const a = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const b = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const open = openFrom(layers.map((l) => l.tar));
    const [ra, rb] = await Promise.all([a.ensureLayers({ diffIds, open }), b.ensureLayers({ diffIds, open })]);
    assert.deepEqual(ra, rb);
    assert.equal((await a.listLayers()).length, 3);
    assert.deepEqual(await readdir(join(root, "tmp")), []);
  });
});

test("ensureLayers honours the signal and cleans up after a failing apply", async () => {
  await withRoot(async (root) => {
    const l0 = await makeLayerTar([{ name: "x", content: "x" }]);
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    await assert.rejects(
      s.ensureLayers({ diffIds: [l0.diffId], open: openFrom([l0.tar]), signal: AbortSignal.abort() }),
      (e: unknown) => kindOf(e) === "cancelled",
    );
    const failing: LayerApplyFn = async (t, dest) => {
      t.resume();
      await writeFile(join(dest, "half"), "written before the failure");
      throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    };
    const f = new OverlaySnapshotter({ root, apply: failing, durable: false });
    await assert.rejects(f.ensureLayers({ diffIds: [l0.diffId], open: openFrom([l0.tar]) }), (e: Error) => {
      assert.equal(kindOf(e), "system");
      assert.match(e.message, /no space left on device/);
      return true;
    });
    assert.deepEqual(await readdir(join(root, "tmp")), []);
    assert.deepEqual(await s.listLayers(), []);
    await assert.rejects(
      s.ensureLayers({ diffIds: ["sha256:nope" as Digest], open: openFrom([]) }),
      (e: unknown) => kindOf(e) === "invalid-parameter",
    );
  });
});

test("prepare makes upper/work/rootfs and an overlay Mount; zero layers get an empty lower", async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const cdir = join(root, "containers", "c1");
    const m = await s.prepare({ containerDir: cdir, lowerDirs: ["/l/top", "/l/base"] });
    assert.deepEqual(m, {
      type: "overlay",
      source: "overlay",
      target: join(cdir, "rootfs"),
      options: ["lowerdir=/l/top:/l/base", `upperdir=${cdir}/upper`, `workdir=${cdir}/work`],
    });
    assert.deepEqual((await readdir(cdir)).sort(), ["rootfs", "upper", "work"]);
    const scratch = await s.prepare({ containerDir: join(root, "containers", "c2"), lowerDirs: [] });
    assert.equal(scratch.options[0], `lowerdir=${join(root, "containers", "c2", "empty")}`);
    assert.deepEqual(await readdir(join(root, "containers", "c2", "empty")), []);
    for (const bad of ["relative/dir", "/has,comma", "/has:colon"]) {
      await assert.rejects(s.prepare({ containerDir: bad, lowerDirs: [] }), (e: unknown) => kindOf(e) === "invalid-parameter");
    }
  });
});

test("mount refuses option data beyond one page before calling mount(8)", async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const lowers = Array.from({ length: 200 }, (_, i) => s.layerDiffDir(digestOf(`layer ${i}`)));
    const m = await s.prepare({ containerDir: join(root, "c"), lowerDirs: lowers });
    await assert.rejects(s.mount(m, join(root, "c", "rootfs")), (e: Error) => {
      assert.equal(kindOf(e), "invalid-parameter");
      assert.match(e.message, /too many layers/);
      return true;
    });
    // short links were made for the layers: l/<24 hex> -> ../layers/<hex>/diff
    const links = await readdir(join(root, "l"));
    assert.equal(links.length, 200);
    const first = digestOf("layer 0").slice(7);
    assert.equal(await readlink(join(root, "l", first.slice(0, 24))), join("..", "layers", first, "diff"));
    assert.ok(MAX_MOUNT_DATA < 4096);
    await assert.rejects(s.mount({ type: "bind", source: "/", options: [] }, join(root, "x")), (e: unknown) => kindOf(e) === "invalid-parameter");
  });
});

test("removeLayer and listLayers; usage counts allocated bytes and inodes", async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    const l0 = await makeLayerTar([{ name: "big", content: Buffer.alloc(100_000, 1) }]);
    const [lower] = await s.ensureLayers({ diffIds: [l0.diffId], open: openFrom([l0.tar]) });
    const u = await s.usage(lower as string);
    assert.ok(u.bytes >= 100_000, `usage ${u.bytes}`);
    assert.equal(u.inodes, 2);
    await s.removeLayer(l0.diffId);
    assert.deepEqual(await s.listLayers(), []);
    await s.removeLayer(l0.diffId); // missing is fine
    assert.deepEqual(await readdir(join(root, "tmp")), []);
  });
});

test("unmount of something not mounted is fine", { skip: process.platform !== "linux" && "needs /proc" }, async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply, durable: false });
    await s.unmount(join(root, "never-mounted"));
    await s.unmount(root);
  });
});

test("durable mode syncs before publishing", { skip: process.platform !== "linux" && "needs sync -f" }, async () => {
  await withRoot(async (root) => {
    const s = new OverlaySnapshotter({ root, apply: simpleApply });
    const l0 = await makeLayerTar([{ name: "x", content: "x" }]);
    const [lower] = await s.ensureLayers({ diffIds: [l0.diffId], open: async () => Readable.from([l0.tar]) });
    assert.equal(await readFile(join(lower as string, "x"), "utf8"), "x");
  });
});

/**
 * The overlay snapshotter on a real kernel: layers shared read-only by many
 * containers, each container writing only to its own upper dir.
 */
import assert from "node:assert/strict";
import { access, mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { digestOf, kindOf, type Digest } from "../../../src/core/index.ts";
import { applyLayer } from "../../../src/layers/index.ts";
import { OverlaySnapshotter } from "../../../src/snapshots/index.ts";
import { makeLayerTar, openFrom } from "../../../src/snapshots/testing/simple-apply.ts";
import { requires } from "../../../src/testing/index.ts";

const skip = requires("root", "overlay");

async function gone(p: string): Promise<boolean> {
  try {
    await access(p);
    return false;
  } catch {
    return true;
  }
}

describe("overlay snapshotter (root)", { skip }, () => {
  let root = "";
  let snap: OverlaySnapshotter;
  const mounted: string[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-overlay-"));
    snap = new OverlaySnapshotter({ root, apply: (t, d, o) => applyLayer(t, d, o) });
  });

  after(async () => {
    for (const t of mounted.reverse()) await snap.unmount(t);
    await rm(root, { recursive: true, force: true });
  });

  async function container(id: string, lowerDirs: string[]): Promise<{ dir: string; rootfs: string }> {
    const dir = join(root, "containers", id);
    const m = await snap.prepare({ containerDir: dir, lowerDirs });
    const rootfs = m.target as string;
    await snap.mount(m, rootfs);
    mounted.push(rootfs);
    return { dir, rootfs };
  }

  test("two containers from two layers see only their own writes; lowers stay unchanged", async () => {
    const base = await makeLayerTar([
      { name: "etc/", type: "directory" },
      { name: "etc/os-release", content: "ID=berth\n" },
      { name: "etc/motd", content: "hello\n" },
    ]);
    // the second layer changes motd and deletes os-release (an OCI whiteout)
    const top = await makeLayerTar([
      { name: "etc/motd", content: "hello from the top layer\n" },
      { name: "etc/.wh.os-release", content: "" },
      { name: "bin/", type: "directory" },
    ]);
    const lowers = await snap.ensureLayers({ diffIds: [base.diffId, top.diffId], open: openFrom([base.tar, top.tar]) });
    const a = await container("a", lowers);
    const b = await container("b", lowers);
    for (const c of [a, b]) {
      assert.equal(await readFile(join(c.rootfs, "etc/motd"), "utf8"), "hello from the top layer\n");
      assert.ok(await gone(join(c.rootfs, "etc/os-release")), "the whiteout hides the base file");
    }
    await writeFile(join(a.rootfs, "only-in-a"), "A");
    await writeFile(join(b.rootfs, "etc/motd"), "B was here\n");
    await unlink(join(a.rootfs, "etc/motd"));

    assert.equal(await readFile(join(a.rootfs, "only-in-a"), "utf8"), "A");
    assert.ok(await gone(join(b.rootfs, "only-in-a")));
    assert.ok(await gone(join(a.rootfs, "etc/motd")));
    assert.equal(await readFile(join(b.rootfs, "etc/motd"), "utf8"), "B was here\n");

    // lower dirs unchanged
    const [topDir, baseDir] = lowers as [string, string];
    assert.equal(await readFile(join(topDir, "etc/motd"), "utf8"), "hello from the top layer\n");
    assert.equal(await readFile(join(baseDir, "etc/motd"), "utf8"), "hello\n");
    assert.equal(await readFile(join(baseDir, "etc/os-release"), "utf8"), "ID=berth\n");
    assert.deepEqual((await readdir(baseDir)).sort(), ["etc"]);
    assert.ok(await gone(join(topDir, "only-in-a")));
    // the writes live in each container's upper dir
    assert.equal(await readFile(join(a.dir, "upper", "only-in-a"), "utf8"), "A");
    assert.equal(await readFile(join(b.dir, "upper", "etc", "motd"), "utf8"), "B was here\n");
  });

  test("20 containers cost only their upper dirs", async () => {
    const big = await makeLayerTar([{ name: "usr/lib/big.bin", content: Buffer.alloc(2 * 1024 * 1024, 7) }]);
    const lowers = await snap.ensureLayers({ diffIds: [big.diffId], open: openFrom([big.tar]) });
    const layersBefore = await snap.usage(join(root, "layers"));
    const costs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await container(`many-${i}`, lowers);
      assert.equal((await readFile(join(c.rootfs, "usr/lib/big.bin"))).byteLength, 2 * 1024 * 1024);
      await writeFile(join(c.rootfs, "hostname"), `container-${i}\n`);
      costs.push((await snap.usage(c.dir)).bytes);
    }
    const layersAfter = await snap.usage(join(root, "layers"));
    assert.deepEqual(layersAfter, layersBefore, "no container wrote into the shared layers");
    const max = Math.max(...costs);
    const total = costs.reduce((x, y) => x + y, 0);
    console.log(`# 20 containers over a 2 MiB layer: max ${max} B, total ${total} B on disk for their dirs`);
    assert.ok(max < 100 * 1024, `each container costs ${max} bytes`);
  });

  for (const n of [40, 120]) {
    test(`${n} layers mount in one overlay`, async () => {
      const tars = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          makeLayerTar([
            { name: `layer-${i}`, content: `${i}` },
            { name: "which", content: `layer ${i} of ${n}` },
          ]),
        ),
      );
      const lowers = await snap.ensureLayers({ diffIds: tars.map((t) => t.diffId), open: openFrom(tars.map((t) => t.tar)) });
      assert.equal(lowers.length, n);
      const absolute = lowers.join(":").length;
      const c = await container(`deep-${n}`, lowers);
      const names = await readdir(c.rootfs);
      for (let i = 0; i < n; i++) assert.ok(names.includes(`layer-${i}`), `layer-${i} visible`);
      assert.equal(await readFile(join(c.rootfs, "which"), "utf8"), `layer ${n - 1} of ${n}`, "topmost layer wins");
      console.log(`# ${n} layers: absolute lowerdir would be ${absolute} bytes; mounted with l/ short links`);
    });
  }

  test("a layer whose diffID mismatches is rejected and nothing stays under layers/", async () => {
    const before = await snap.listLayers();
    const real = await makeLayerTar([{ name: "evil", content: "not what was promised" }]);
    const promised = digestOf("the promised layer");
    await assert.rejects(snap.ensureLayers({ diffIds: [promised], open: openFrom([real.tar]) }), (e: unknown) => {
      assert.equal(kindOf(e), "data-loss");
      return true;
    });
    assert.deepEqual(await snap.listLayers(), before);
    assert.ok(await gone(snap.layerDiffDir(promised as Digest)));
    assert.deepEqual((await readdir(join(root, "tmp"))).filter((n) => n.startsWith("layer-")), []);
  });

  test("unmount, remove layers, and leave nothing behind", async () => {
    for (const t of mounted.splice(0).reverse()) {
      await snap.unmount(t);
      await snap.unmount(t); // twice is fine
    }
    const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
    assert.ok(!mountinfo.includes(root), "no mount under the test root remains");
    for (const l of await snap.listLayers()) await snap.removeLayer(l);
    assert.deepEqual(await snap.listLayers(), []);
    assert.deepEqual(await readdir(join(root, "l")), []);
  });
});

/**
 * Layers against the real overlayfs: whiteouts and opaque directories applied in overlay's own
 * format, a mounted stack that hides what an upper layer deleted, the changeset of a real upper
 * dir, and apply(diff(x)) round trips. Needs root (mknod, trusted.* xattrs, mount).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { promisify } from "node:util";
import tar from "tar-stream";
import { digestOf } from "../../../src/core/digest.ts";
import { applyLayer, diffDirectory, packDirectory } from "../../../src/layers/index.ts";
import { getXattr } from "../../../src/layers/host-commands.ts";
import { TarBuilder } from "../../../src/testing/tar-builder.ts";
import { requires } from "../../../src/testing/requires.ts";

const run = promisify(execFile);
const gate = { skip: requires("root", "overlay") };

interface Scratch {
  readonly dir: string;
  readonly mounts: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), "berth-layers-it-"));
  const mounts: string[] = [];
  return {
    dir,
    mounts,
    async [Symbol.asyncDispose]() {
      for (const m of mounts.reverse()) await run("umount", [m]).catch(() => run("umount", ["-l", m]));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function mountOverlay(s: Scratch, o: { lower: string[]; upper?: string; work?: string }): Promise<string> {
  const merged = await mkdtemp(join(s.dir, "merged-"));
  const opts = [`lowerdir=${o.lower.join(":")}`];
  if (o.upper !== undefined && o.work !== undefined) opts.push(`upperdir=${o.upper}`, `workdir=${o.work}`);
  await run("mount", ["-t", "overlay", "overlay", "-o", opts.join(","), merged]);
  s.mounts.push(merged);
  return merged;
}

async function unmount(s: Scratch, merged: string): Promise<void> {
  await run("umount", [merged]);
  s.mounts.splice(s.mounts.indexOf(merged), 1);
}

async function apply(s: Scratch, name: string, t: Buffer, o: { allowDevices?: boolean } = {}): Promise<string> {
  const dest = join(s.dir, name);
  await mkdir(dest);
  const r = await applyLayer(Readable.from([t]), dest, o);
  assert.equal(r.diffId, digestOf(t));
  return dest;
}

async function isOverlayWhiteout(p: string): Promise<boolean> {
  const st = await lstat(p, { bigint: true });
  return st.isCharacterDevice() && st.rdev === 0n;
}

async function names(t: Buffer): Promise<string[]> {
  const out: string[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      out.push(`${e.header.type} ${e.header.name}`);
      e.resume();
    }
  })();
  ex.end(t);
  await done;
  return out;
}

const base = () =>
  new TarBuilder()
    .dir("etc")
    .file("etc/a", "a")
    .file("etc/b", "b")
    .dir("opq")
    .file("opq/old", "old")
    .dir("keep")
    .file("keep/x", "x")
    .build();

test("whiteouts and opaque dirs become overlay chars and xattrs, and hide lower files when mounted", gate, async () => {
  await using s = await scratch();
  const l1 = await apply(s, "l1", base());
  const l2 = await apply(s, "l2", new TarBuilder().whiteout("etc/a").opaque("opq").file("opq/new", "new").file("keep/y", "y").whiteout("never/existed").opaque("sp ace\\ü\n").build());

  assert.ok(await isOverlayWhiteout(join(l2, "etc/a")));
  assert.ok(await isOverlayWhiteout(join(l2, "never/existed")), "a whiteout's parents are created");
  assert.equal(await getXattr(join(l2, "opq"), "trusted.overlay.opaque"), "y");
  assert.equal(await getXattr(join(l2, "keep"), "trusted.overlay.opaque"), undefined);

  // diffDirectory reads the same markers back, odd names included (getfattr escapes them).
  const back = await names(await buffer(diffDirectory(l2)));
  for (const want of ["file etc/.wh.a", "file opq/.wh..wh..opq", "file never/.wh.existed", "file sp ace\\ü\n/.wh..wh..opq"]) {
    assert.ok(back.includes(want), `${JSON.stringify(want)} in ${JSON.stringify(back)}`);
  }

  const merged = await mountOverlay(s, { lower: [l2, l1] });
  assert.deepEqual((await readdir(join(merged, "etc"))).sort(), ["b"], "etc/a deleted by the upper layer is gone");
  assert.deepEqual(await readdir(join(merged, "opq")), ["new"], "the opaque dir hides the lower opq/old");
  assert.deepEqual((await readdir(join(merged, "keep"))).sort(), ["x", "y"]);
  assert.equal(await readFile(join(merged, "etc/b"), "utf8"), "b");
  await unmount(s, merged);
});

test("diffDirectory of a real upper dir emits .wh. entries and the opaque marker; apply(diff) round trips", gate, async () => {
  await using s = await scratch();
  const l1 = await apply(s, "l1", base());
  const upper = join(s.dir, "upper");
  const work = join(s.dir, "work");
  await mkdir(upper);
  await mkdir(work);
  const merged = await mountOverlay(s, { lower: [l1], upper, work });
  await rm(join(merged, "etc/a"));
  await writeFile(join(merged, "etc/c"), "c");
  await rm(join(merged, "opq"), { recursive: true });
  await mkdir(join(merged, "opq"));
  await writeFile(join(merged, "opq/fresh"), "fresh");
  await unmount(s, merged);

  const diff = await buffer(diffDirectory(upper, { sourceDateEpoch: 1_600_000_000 }));
  const entries = await names(diff);
  for (const want of ["file etc/.wh.a", "file etc/c", "directory opq/", "file opq/.wh..wh..opq", "file opq/fresh"]) {
    assert.ok(entries.includes(want), `${want} in ${JSON.stringify(entries)}`);
  }
  assert.ok(entries.indexOf("file opq/.wh..wh..opq") === entries.indexOf("directory opq/") + 1, "opaque marker right after its dir");
  assert.ok(!entries.some((e) => e.includes("old")), "nothing of the deleted lower content");

  // Round trip: the applied changeset is the same changeset.
  const copy = await apply(s, "copy", diff);
  assert.ok(await isOverlayWhiteout(join(copy, "etc/a")));
  assert.equal(await getXattr(join(copy, "opq"), "trusted.overlay.opaque"), "y");
  const again = await buffer(diffDirectory(copy, { sourceDateEpoch: 1_600_000_000 }));
  assert.ok(again.equals(diff), "diff(apply(diff(upper))) is byte-identical");

  // And the copy works as a layer over l1 exactly as the original upper does.
  const m2 = await mountOverlay(s, { lower: [copy, l1] });
  assert.deepEqual((await readdir(join(m2, "etc"))).sort(), ["b", "c"]);
  assert.deepEqual(await readdir(join(m2, "opq")), ["fresh"]);
  await unmount(s, m2);
});

test("device nodes with allowDevices round trip through packDirectory; owners survive", gate, async () => {
  await using s = await scratch();
  const t = new TarBuilder()
    .dir("dev")
    .device("dev/null", 1, 3, { mode: 0o666 })
    .device("dev/loop9", 7, 9, { block: true, mode: 0o660, gid: 6 })
    .file("owned", "x", { uid: 4242, gid: 4343, mode: 0o640 })
    .build();
  const l = await apply(s, "devs", t, { allowDevices: true });
  const st = await lstat(join(l, "dev/null"));
  assert.ok(st.isCharacterDevice());
  assert.equal(st.mode & 0o7777, 0o666);
  assert.ok((await lstat(join(l, "dev/loop9"))).isBlockDevice());
  const owned = await lstat(join(l, "owned"));
  assert.deepEqual([owned.uid, owned.gid], [4242, 4343]);

  const packed = await buffer(packDirectory(l));
  const hs: tar.Header[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      hs.push(e.header);
      e.resume();
    }
  })();
  ex.end(packed);
  await done;
  const byName = new Map(hs.map((h) => [h.name, h]));
  assert.deepEqual([byName.get("dev/null")?.type, byName.get("dev/null")?.devmajor, byName.get("dev/null")?.devminor], ["character-device", 1, 3]);
  assert.deepEqual([byName.get("dev/loop9")?.type, byName.get("dev/loop9")?.devmajor, byName.get("dev/loop9")?.devminor], ["block-device", 7, 9]);
  assert.deepEqual([byName.get("owned")?.uid, byName.get("owned")?.gid], [4242, 4343]);
});

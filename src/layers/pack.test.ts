import { test } from "node:test";
import assert from "node:assert/strict";
import { link, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, utimes, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import tar from "tar-stream";
import { digestOf } from "../core/digest.ts";
import { applyLayer } from "./apply.ts";
import { packDirectory, diffDirectory } from "./pack.ts";

async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "berth-pack-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

/** Makes the same logical tree; `order` reverses creation order (and so, usually, readdir order); `mtime` sets every mtime. */
async function makeTree(root: string, o: { reverse: boolean; mtime: number }): Promise<void> {
  const dirs = ["b/c", "a", "z/y/x"];
  const files: [string, string][] = [["a/one.txt", "one\n"], ["zz", "zz"], ["b/c/deep", "deep"], ["a-b", ""]];
  for (const d of o.reverse ? dirs.reverse() : dirs) await mkdir(join(root, d), { recursive: true });
  for (const [f, c] of o.reverse ? files.reverse() : files) await writeFile(join(root, f), c);
  await chmod(join(root, "zz"), 0o600);
  await symlink("a/one.txt", join(root, "ln"));
  await link(join(root, "a/one.txt"), join(root, "hard"));
  for (const p of ["a/one.txt", "zz", "b/c/deep", "a-b", "hard", "b/c", "b", "a", "z/y/x", "z/y", "z", "."]) {
    await utimes(join(root, p), o.mtime, o.mtime);
  }
}

async function entries(t: Buffer): Promise<tar.Header[]> {
  const out: tar.Header[] = [];
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      out.push(e.header);
      e.resume();
    }
  })();
  ex.end(t);
  await done;
  return out;
}

test("packDirectory is deterministic: same bytes regardless of readdir order and mtimes (with sourceDateEpoch)", async () => {
  await using t1 = await tempDir();
  await using t2 = await tempDir();
  await makeTree(t1.path, { reverse: false, mtime: 1_700_000_000 });
  await makeTree(t2.path, { reverse: true, mtime: 1_750_000_000 });
  const epoch = 1_600_000_000;
  const a = await buffer(packDirectory(t1.path, { sourceDateEpoch: epoch }));
  const a2 = await buffer(packDirectory(t1.path, { sourceDateEpoch: epoch }));
  const b = await buffer(packDirectory(t2.path, { sourceDateEpoch: epoch }));
  assert.ok(a.equals(a2), "packing twice gives the same bytes");
  assert.equal(digestOf(a), digestOf(b));
  assert.ok(a.equals(b));

  // Without the epoch, the differing mtimes show up.
  const c = await buffer(packDirectory(t1.path));
  const d = await buffer(packDirectory(t2.path));
  assert.notEqual(digestOf(c), digestOf(d));

  const hs = await entries(a);
  assert.deepEqual(
    hs.map((h) => `${h.type} ${h.name}${h.linkname ? ` -> ${h.linkname}` : ""}`),
    [
      "directory a/",
      "file a/one.txt",
      "file a-b",
      "directory b/",
      "directory b/c/",
      "file b/c/deep",
      "link hard -> a/one.txt",
      "symlink ln -> a/one.txt",
      "directory z/",
      "directory z/y/",
      "directory z/y/x/",
      "file zz",
    ],
  );
  for (const h of hs) {
    assert.equal(h.mtime.getTime() / 1000, epoch);
    assert.equal(h.uname, "");
    assert.equal(h.gname, "");
    assert.equal(h.pax, null, "no PAX for short ASCII names");
  }
  assert.equal(hs.find((h) => h.name === "zz")!.mode, 0o600);
});

test("sourceDateEpoch clamps: older mtimes are kept", async () => {
  await using t = await tempDir();
  await writeFile(join(t.path, "old"), "");
  await utimes(join(t.path, "old"), 1_000_000_000, 1_000_000_000);
  const hs = await entries(await buffer(packDirectory(t.path, { sourceDateEpoch: 1_600_000_000 })));
  assert.equal(hs[0]!.mtime.getTime() / 1000, 1_000_000_000);
});

test("filter and prefix", async () => {
  await using t = await tempDir();
  await makeTree(t.path, { reverse: false, mtime: 1_700_000_000 });
  const hs = await entries(await buffer(packDirectory(t.path, { prefix: "app/", filter: (p) => !p.startsWith("b") && p !== "hard" })));
  assert.deepEqual(
    hs.map((h) => h.name),
    ["app/", "app/a/", "app/a/one.txt", "app/a-b", "app/ln", "app/z/", "app/z/y/", "app/z/y/x/", "app/zz"],
  );
});

test("round trip: applyLayer(packDirectory(x)) reproduces the tree", async () => {
  await using src = await tempDir();
  await using dst = await tempDir();
  await makeTree(src.path, { reverse: false, mtime: 1_700_000_000 });
  await mkdir(join(src.path, "long".repeat(30)), { recursive: true });
  await writeFile(join(src.path, "long".repeat(30), "ünï".repeat(20)), "pax");
  const t = await buffer(packDirectory(src.path));
  const r = await applyLayer(Readable.from([t]), dst.path);
  assert.equal(r.diffId, digestOf(t));
  const again = await buffer(packDirectory(dst.path));
  assert.ok(again.equals(t), "re-packing the applied tree gives the same tar");
  assert.equal(await readlink(join(dst.path, "ln")), "a/one.txt");
  assert.equal((await lstat(join(dst.path, "hard"))).ino, (await lstat(join(dst.path, "a/one.txt"))).ino);
  assert.equal(await readFile(join(dst.path, "long".repeat(30), "ünï".repeat(20)), "utf8"), "pax");
  assert.deepEqual((await readdir(dst.path)).sort(), (await readdir(src.path)).sort());
});

test("packing a missing directory fails the stream", async () => {
  await assert.rejects(buffer(packDirectory(join(tmpdir(), "berth-does-not-exist-xyz"))), /ENOENT/);
});

test("diffDirectory without overlay markers is a plain pack", async () => {
  await using t = await tempDir();
  await makeTree(t.path, { reverse: false, mtime: 1_700_000_000 });
  const a = await buffer(diffDirectory(t.path, { sourceDateEpoch: 1 }));
  const b = await buffer(packDirectory(t.path, { sourceDateEpoch: 1 }));
  assert.ok(a.equals(b));
});

test("abort stops packing", async () => {
  await using t = await tempDir();
  await makeTree(t.path, { reverse: false, mtime: 1_700_000_000 });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(buffer(packDirectory(t.path, { signal: ac.signal })), (e: Error) => e.name === "AbortError" || /cancel/.test(e.message));
});

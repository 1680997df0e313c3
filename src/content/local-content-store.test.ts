import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { contentStoreSuite } from "../testing/suites/content.suite.ts";
import { digestOf, kindOf } from "../core/index.ts";
import { LocalContentStore, writeError } from "./local-content-store.ts";

contentStoreSuite("LocalContentStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-"));
  const store = await LocalContentStore.open(dir);
  return {
    store,
    cleanup: () => rm(dir, { recursive: true, force: true }),
    pendingWrites: async () => (await readdir(join(dir, "tmp"))).length,
  };
});

test("open creates the layout and sweeps only stale temp files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-"));
  try {
    const s1 = await LocalContentStore.open(dir);
    assert.deepEqual((await readdir(join(dir, "blobs"))).sort(), ["sha256"]);
    const info = await s1.put(Buffer.from("kept"));
    const stale = join(dir, "tmp", "ingest-1-stale");
    const young = join(dir, "tmp", "ingest-2-young");
    await writeFile(stale, "half a blob");
    await writeFile(young, "someone else is writing this");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const s2 = await LocalContentStore.open(dir);
    assert.deepEqual(await readdir(join(dir, "tmp")), ["ingest-2-young"]);
    assert.equal(await s2.has(info.digest), true);
    assert.equal(await s2.has(digestOf("half a blob")), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("commit publishes under blobs/sha256/<hex>", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-"));
  try {
    const s = await LocalContentStore.open(dir);
    const info = await s.put(Buffer.from("x"));
    assert.equal(await s.path(info.digest), join(dir, "blobs", "sha256", info.digest.slice(7)));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("writeError names ENOSPC plainly and classifies as system", () => {
  const e = writeError("write blob", Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" }));
  assert.equal(kindOf(e), "system");
  assert.equal(e.message, "write blob: no space left on device");
});

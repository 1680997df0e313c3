/**
 * A write onto a full filesystem fails with a clear `system` error and leaves
 * neither a temp file nor a blob (a 64 KiB tmpfs stands in for a full disk).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { LocalContentStore } from "../../../src/content/local-content-store.ts";
import { digestOf, kindOf } from "../../../src/core/index.ts";
import { requires } from "../../../src/testing/index.ts";

test("ENOSPC: clear error, no temp file, no blob", { skip: requires("root", "linux") }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
  try {
    const store = await LocalContentStore.open(dir);
    const data = Buffer.alloc(256 * 1024, 0x5a);
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < data.byteLength; i += 16 * 1024) yield data.subarray(i, i + 16 * 1024);
    }
    await assert.rejects(store.ingest(source(), { expected: { digest: digestOf(data) } }), (err: Error) => {
      assert.equal(kindOf(err), "system");
      assert.match(err.message, /no space left on device/);
      return true;
    });
    assert.deepEqual(await readdir(join(dir, "tmp")), []);
    assert.deepEqual(await readdir(join(dir, "blobs", "sha256")), []);
    // put of a big buffer in one write fails the same way
    await assert.rejects(store.put(data), /no space left on device/);
    assert.deepEqual(await readdir(join(dir, "tmp")), []);
    // and a small blob still fits afterwards: the space was given back
    const small = await store.put(Buffer.from("small"));
    assert.equal(await store.has(small.digest), true);
  } finally {
    execFileSync("umount", [dir]);
    await rm(dir, { recursive: true, force: true });
  }
});

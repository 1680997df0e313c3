/**
 * Several processes writing the same blob at once all succeed, and exactly one
 * verified copy ends up under the digest (rename is atomic).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { LocalContentStore } from "../../../src/content/local-content-store.ts";
import { digestOf } from "../../../src/core/index.ts";

const fixture = join(import.meta.dirname, "same-blob-writer.fixture.ts");

test("6 processes writing the same blob", async () => {
  const dir = await mkdtemp(join(tmpdir(), "berth-content-procs-"));
  try {
    const data = Buffer.concat(Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i)));
    const digest = digestOf(data);
    const outs = await Promise.all(
      Array.from({ length: 6 }, () => promisify(execFile)(process.execPath, [fixture, dir, digest], { timeout: 60_000 })),
    );
    for (const o of outs) assert.deepEqual(JSON.parse(o.stdout), { digest, size: data.byteLength });
    const store = await LocalContentStore.open(dir);
    assert.deepEqual(await store.readBytes(digest), data);
    assert.deepEqual(await readdir(join(dir, "blobs", "sha256")), [digest.slice(7)]);
    assert.deepEqual(await readdir(join(dir, "tmp")), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

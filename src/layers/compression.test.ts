import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { digestOf } from "../core/digest.ts";
import { kindOf } from "../core/errors.ts";
import { TarBuilder } from "../testing/tar-builder.ts";
import { compress, decompress, sniffCompression } from "./compression.ts";
import { DigestingStream } from "./digesting-stream.ts";

const tar = new TarBuilder().file("a", "hello ".repeat(1000)).file("b", randomBytes(5000)).build();

/** Yields the buffer a few bytes at a time, so magic bytes straddle chunks. */
function trickle(b: Buffer, size = 3): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) chunks.push(b.subarray(i, i + size));
  return Readable.from(chunks);
}

test("sniffCompression", () => {
  assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 8, 0])), "gzip");
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), "zstd");
  assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f])), "none");
  assert.equal(sniffCompression(tar), "none");
  assert.equal(sniffCompression(Buffer.alloc(0)), "none");
});

for (const [name, bytes] of [
  ["plain", tar],
  ["gzip", gzipSync(tar)],
  ["zstd", zstdCompressSync(tar)],
] as const) {
  test(`decompress sniffs ${name}, even from 3-byte chunks`, async () => {
    assert.ok((await buffer(decompress(trickle(bytes)))).equals(tar));
    assert.ok((await buffer(decompress(Readable.from([bytes])))).equals(tar));
  });
}

test("decompress passes through tiny and empty streams", async () => {
  assert.equal((await buffer(decompress(Readable.from([])))).length, 0);
  assert.deepEqual([...(await buffer(decompress(Readable.from([Buffer.from([1, 2])]))))], [1, 2]);
});

test("decompress: truncated gzip is data-loss, corrupt gzip is invalid-parameter", async () => {
  const gz = gzipSync(tar);
  const truncated = await buffer(decompress(Readable.from([gz.subarray(0, gz.length - 100)]))).catch((e: unknown) => e);
  assert.equal(kindOf(truncated), "data-loss", String(truncated));
  const corrupt = Buffer.from(gz);
  corrupt.fill(0xff, 20, 60);
  const bad = await buffer(decompress(Readable.from([corrupt]))).catch((e: unknown) => e);
  assert.equal(kindOf(bad), "invalid-parameter", String(bad));
});

test("decompress: a corrupt zstd stream fails", async () => {
  const zs = Buffer.from(zstdCompressSync(tar));
  zs.fill(0xff, 10, 40);
  const bad = await buffer(decompress(Readable.from([zs]))).catch((e: unknown) => e);
  assert.ok(bad instanceof Error);
  assert.notEqual(kindOf(bad), "unknown", String(bad));
});

test("decompress honours abort", async () => {
  const ac = new AbortController();
  ac.abort();
  const err = await buffer(decompress(Readable.from([gzipSync(tar)]), { signal: ac.signal })).catch((e: unknown) => e);
  assert.equal(kindOf(err), "cancelled");
});

for (const kind of ["gzip", "zstd"] as const) {
  test(`compress ${kind}: deterministic, round-trips, level matters`, async () => {
    const a = await buffer(compress(Readable.from([tar]), kind));
    const b = await buffer(compress(trickle(tar, 100), kind));
    const big = Buffer.concat([Buffer.from("hello ".repeat(40_000)), randomBytes(200_000)]);
    const outs = await Promise.all([[big], ...[1000, 7000, 65536, 131072].map((n) => trickle(big, n))].map(async (src) => buffer(compress(Readable.from(src), kind))));
    for (const o of outs) assert.ok(o.equals(outs[0]!), "chunking does not change the output");
    assert.ok(a.equals(b), "same bytes for the same input");
    assert.equal(sniffCompression(a), kind);
    assert.ok((await buffer(decompress(Readable.from([a])))).equals(tar));
    const fast = await buffer(compress(Readable.from([tar]), kind, { level: 1 }));
    const best = await buffer(compress(Readable.from([tar]), kind, { level: 9 }));
    assert.ok(!fast.equals(best) || fast.length === best.length);
    if (kind === "gzip") {
      assert.equal(a.readUInt32LE(4), 0, "gzip mtime is 0");
      assert.equal(a[3]! & 0x08, 0, "no file name in the gzip header");
    }
  });
}

test("compress rejects a bad level", () => {
  assert.equal(kindOf((() => { try { compress(Readable.from([]), "gzip", { level: 12 }); } catch (e) { return e; } })()), "invalid-parameter");
});

test("DigestingStream gives diffID and blob digest in one pass", async () => {
  const raw = new DigestingStream();
  const packed = new DigestingStream();
  const blob = await buffer(compress(Readable.from([tar]).pipe(raw), "gzip").pipe(packed));
  assert.equal(await raw.digest, digestOf(tar));
  assert.equal(await raw.size, tar.length);
  assert.equal(await packed.digest, digestOf(blob));
  assert.equal(await packed.size, blob.length);
});

test("DigestingStream rejects its promises when destroyed early", async () => {
  const d = new DigestingStream();
  d.on("error", () => {});
  d.write(Buffer.from("abc"));
  d.destroy(new Error("boom"));
  await assert.rejects(d.digest, /boom/);
  await assert.rejects(d.size, /boom/);
});

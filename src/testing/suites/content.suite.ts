/**
 * Conformance suite for ContentStore implementations (containerd
 * core/content/testsuite). Every implementation, fakes included, runs it:
 *
 *   contentStoreSuite("LocalContentStore", async () => {
 *     const dir = await mkdtemp(...);
 *     return { store: await LocalContentStore.open(dir), cleanup: () => rm(dir, ...), pendingWrites: ... };
 *   });
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { readFile } from "node:fs/promises";
import type { ContentStore } from "../../content/content-store.ts";
import { digestOf, kindOf, type Digest } from "../../core/index.ts";

export interface ContentStoreFixture {
  readonly store: ContentStore;
  cleanup(): Promise<void>;
  /** How many uncommitted writes have left something behind (temp files, buffers). */
  pendingWrites(): Promise<number>;
}

async function collect(store: ContentStore): Promise<Digest[]> {
  const out: Digest[] = [];
  for await (const b of store.walk()) out.push(b.digest);
  return out.sort();
}

async function readAll(s: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function* chunksOf(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += size) {
    yield data.subarray(i, i + size);
    await new Promise((r) => setImmediate(r));
  }
}

async function rejectsKind(p: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal(kindOf(err), kind, `expected kind ${kind}, got ${kindOf(err)}: ${String(err)}`);
    return true;
  });
}

const missing = digestOf("this blob was never written");

export function contentStoreSuite(name: string, factory: () => Promise<ContentStoreFixture>): void {
  describe(`ContentStore conformance: ${name}`, () => {
    const withStore = (title: string, fn: (f: ContentStoreFixture) => Promise<void>): void => {
      test(title, async () => {
        const f = await factory();
        try {
          await fn(f);
        } finally {
          await f.cleanup();
        }
      });
    };

    withStore("put, has, info, readBytes, openRead, path round trip", async ({ store }) => {
      const data = Buffer.from("hello, content store\n");
      const info = await store.put(data);
      assert.deepEqual(info, { digest: digestOf(data), size: data.byteLength });
      assert.equal(await store.has(info.digest), true);
      assert.deepEqual(await store.info(info.digest), info);
      assert.deepEqual(await store.readBytes(info.digest), data);
      assert.deepEqual(await readAll(await store.openRead(info.digest)), data);
      assert.deepEqual(await readFile(await store.path(info.digest)), data);
      assert.deepEqual(await collect(store), [info.digest]);
    });

    withStore("put of an existing blob is a no-op that still verifies", async ({ store }) => {
      const data = Buffer.from("twice");
      const a = await store.put(data);
      const b = await store.put(data, { expected: a.digest });
      assert.deepEqual(a, b);
      await rejectsKind(store.put(data, { expected: digestOf("other") }), "data-loss");
      assert.deepEqual(await collect(store), [a.digest]);
    });

    withStore("empty blob", async ({ store }) => {
      const info = await store.put(new Uint8Array(0));
      assert.equal(info.digest, digestOf(""));
      assert.equal(info.size, 0);
      assert.equal((await store.readBytes(info.digest)).byteLength, 0);
    });

    withStore("ingest with expected digest and size", async ({ store, pendingWrites }) => {
      const data = Buffer.alloc(300_000, 7);
      const info = await store.ingest(chunksOf(data, 65_536), {
        expected: { digest: digestOf(data), size: data.byteLength },
      });
      assert.deepEqual(info, { digest: digestOf(data), size: data.byteLength });
      assert.deepEqual(await store.readBytes(info.digest), data);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("digest mismatch: data-loss and nothing visible", async ({ store, pendingWrites }) => {
      const data = Buffer.from("the real bytes");
      const wrong = digestOf("other bytes");
      await rejectsKind(store.ingest(chunksOf(data, 4), { expected: { digest: wrong } }), "data-loss");
      await assert.rejects(store.ingest(chunksOf(data, 4), { expected: { digest: wrong } }), (err: Error) => {
        assert.match(err.message, new RegExp(wrong));
        assert.match(err.message, new RegExp(digestOf(data)));
        return true;
      });
      assert.equal(await store.has(wrong), false);
      assert.equal(await store.has(digestOf(data)), false);
      assert.deepEqual(await collect(store), []);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("size mismatch: data-loss, too short and too long", async ({ store, pendingWrites }) => {
      const data = Buffer.from("twelve bytes");
      await rejectsKind(store.ingest(chunksOf(data, 5), { expected: { size: 13 } }), "data-loss");
      await rejectsKind(store.ingest(chunksOf(data, 5), { expected: { size: 5 } }), "data-loss");
      const w = await store.writer();
      await w.write(data);
      await rejectsKind(w.commit({ size: 11, digest: digestOf(data) }), "data-loss");
      assert.deepEqual(await collect(store), []);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("abort and dispose without commit leave nothing", async ({ store, pendingWrites }) => {
      const w1 = await store.writer();
      await w1.write(Buffer.from("aborted"));
      assert.equal(w1.offset, 7);
      assert.equal(await pendingWrites(), 1);
      await w1.abort();
      await rejectsKind(w1.write(Buffer.from("more")), "invalid-parameter");
      {
        await using w2 = await store.writer();
        await w2.write(Buffer.from("disposed"));
      }
      assert.deepEqual(await collect(store), []);
      assert.equal(await store.has(digestOf("aborted")), false);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("concurrent writers of the same content", async ({ store, pendingWrites }) => {
      const data = Buffer.alloc(200_000);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.ingest(chunksOf(data, 8192), { expected: { digest: digestOf(data), size: data.byteLength } }),
        ),
      );
      for (const r of results) assert.deepEqual(r, { digest: digestOf(data), size: data.byteLength });
      assert.deepEqual(await collect(store), [digestOf(data)]);
      assert.deepEqual(await store.readBytes(digestOf(data)), data);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("delete, and delete of a missing blob", async ({ store }) => {
      const a = await store.put(Buffer.from("a"));
      const b = await store.put(Buffer.from("b"));
      assert.deepEqual(await collect(store), [a.digest, b.digest].sort());
      await store.delete(a.digest);
      assert.equal(await store.has(a.digest), false);
      await rejectsKind(store.info(a.digest), "not-found");
      await store.delete(a.digest);
      assert.deepEqual(await collect(store), [b.digest]);
    });

    withStore("walk lists every committed blob with its size", async ({ store }) => {
      const want = new Map<string, number>();
      for (let i = 0; i < 5; i++) {
        const info = await store.put(Buffer.alloc(i * 10, i));
        want.set(info.digest, info.size);
      }
      const got = new Map<string, number>();
      for await (const b of store.walk()) got.set(b.digest, b.size);
      assert.deepEqual(got, want);
    });

    withStore("missing blobs are not-found", async ({ store }) => {
      assert.equal(await store.has(missing), false);
      await rejectsKind(store.info(missing), "not-found");
      await rejectsKind(store.path(missing), "not-found");
      await rejectsKind(store.readBytes(missing), "not-found");
      await rejectsKind(store.openRead(missing), "not-found");
    });

    withStore("readBytes caps the size", async ({ store }) => {
      const big = await store.put(Buffer.alloc(4 * 1024 * 1024 + 1));
      await rejectsKind(store.readBytes(big.digest), "invalid-parameter");
      const small = await store.put(Buffer.alloc(100, 1));
      await rejectsKind(store.readBytes(small.digest, { maxBytes: 99 }), "invalid-parameter");
      assert.equal((await store.readBytes(small.digest, { maxBytes: 100 })).byteLength, 100);
    });

    withStore("malformed digests are invalid-parameter", async ({ store }) => {
      await rejectsKind(store.has("sha256:../../etc/passwd" as Digest), "invalid-parameter");
      await rejectsKind(store.info("md5:abc" as Digest), "invalid-parameter");
    });

    withStore("cancellation: ingest aborted mid-stream leaves nothing", async ({ store, pendingWrites }) => {
      const ac = new AbortController();
      const data = Buffer.alloc(64 * 1024, 3);
      async function* source(): AsyncGenerator<Uint8Array> {
        yield data.subarray(0, 1024);
        ac.abort();
        yield data.subarray(1024);
      }
      await rejectsKind(store.ingest(source(), { signal: ac.signal }), "cancelled");
      assert.deepEqual(await collect(store), []);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("cancellation: a stalled source is interrupted", async ({ store, pendingWrites }) => {
      const ac = new AbortController();
      let release: () => void = () => undefined;
      async function* source(): AsyncGenerator<Uint8Array> {
        yield Buffer.from("first chunk");
        setImmediate(() => ac.abort());
        await new Promise<void>((r) => (release = r)); // never resolves by itself
        yield Buffer.from("never");
      }
      await rejectsKind(store.ingest(source(), { signal: ac.signal }), "cancelled");
      release();
      assert.deepEqual(await collect(store), []);
      assert.equal(await pendingWrites(), 0);
    });

    withStore("cancellation: aborted signal before start, and on a writer", async ({ store, pendingWrites }) => {
      await rejectsKind(store.ingest(chunksOf(Buffer.from("x"), 1), { signal: AbortSignal.abort() }), "cancelled");
      await rejectsKind(store.writer({ signal: AbortSignal.abort() }), "cancelled");
      const ac = new AbortController();
      const w = await store.writer({ signal: ac.signal });
      await w.write(Buffer.from("partial"));
      ac.abort();
      await rejectsKind(w.commit(), "cancelled");
      await rejectsKind(store.readBytes(missing, { signal: AbortSignal.abort() }), "cancelled");
      assert.deepEqual(await collect(store), []);
      assert.equal(await pendingWrites(), 0);
    });
  });
}

/**
 * MemoryContentStore: an in-memory ContentStore for unit tests. It passes the
 * same conformance suite as LocalContentStore (testing/suites/content.suite.ts).
 *
 * `path()` must return a real file, so it materialises the blob lazily under
 * `root` (default: a fresh directory name under the OS temp dir, created on
 * first use). Call `close()` to remove that directory.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { abortable } from "../content/local-content-store.ts";
import type { BlobInfo, ContentStore, ContentWriter } from "../content/content-store.ts";
import {
  dataLoss,
  digestHex,
  Hasher,
  invalidParameter,
  isDigest,
  notFound,
  throwIfAborted,
  type Digest,
} from "../core/index.ts";

const DEFAULT_MAX = 4 * 1024 * 1024;

/** Directories materialised by path() that close() has not removed: removed at process exit as a safety net. */
const liveRoots = new Set<string>();
let exitHook = false;
function track(root: string): void {
  liveRoots.add(root);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const r of liveRoots) rmSync(r, { recursive: true, force: true });
  });
}

function checkDigest(d: string): Digest {
  if (!isDigest(d)) throw invalidParameter(`invalid digest: ${JSON.stringify(d)}`);
  return d;
}

export class MemoryContentStore implements ContentStore {
  readonly root: string;
  readonly #blobs = new Map<Digest, Buffer>();
  /** Writers that are open right now (the equivalent of temp files). */
  openWriters = 0;

  constructor(o: { root?: string } = {}) {
    this.root = o.root ?? join(tmpdir(), `berth-memory-content-${randomBytes(6).toString("hex")}`);
  }

  #get(digest: Digest): Buffer {
    const b = this.#blobs.get(checkDigest(digest));
    if (b === undefined) throw notFound(`blob ${digest}: not found`);
    return b;
  }

  async has(digest: Digest): Promise<boolean> {
    return this.#blobs.has(checkDigest(digest));
  }

  async info(digest: Digest): Promise<BlobInfo> {
    return { digest, size: this.#get(digest).byteLength };
  }

  async path(digest: Digest): Promise<string> {
    const b = this.#get(digest);
    const dir = join(this.root, "blobs", "sha256");
    await mkdir(dir, { recursive: true });
    track(this.root);
    const p = join(dir, digestHex(digest));
    await writeFile(p, b);
    return p;
  }

  async readBytes(digest: Digest, o: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Buffer> {
    throwIfAborted(o.signal);
    const b = this.#get(digest);
    const max = o.maxBytes ?? DEFAULT_MAX;
    if (b.byteLength > max) {
      throw invalidParameter(`blob ${digest} is ${b.byteLength} bytes, larger than the ${max} bytes allowed here`);
    }
    return Buffer.from(b);
  }

  async openRead(digest: Digest, o: { signal?: AbortSignal } = {}): Promise<Readable> {
    throwIfAborted(o.signal);
    const b = this.#get(digest);
    return Readable.from([Buffer.from(b)], o.signal === undefined ? {} : { signal: o.signal });
  }

  async writer(o: { signal?: AbortSignal } = {}): Promise<ContentWriter> {
    throwIfAborted(o.signal);
    const chunks: Buffer[] = [];
    const hasher = new Hasher();
    let state: "open" | "committed" | "aborted" = "open";
    this.openWriters++;
    const close = (to: "committed" | "aborted"): void => {
      if (state === "open") this.openWriters--;
      state = to;
    };
    const check = (): void => {
      if (state !== "open") throw invalidParameter(`content writer is already ${state}`);
      if (o.signal?.aborted) {
        close("aborted");
        throwIfAborted(o.signal);
      }
    };
    const blobs = this.#blobs;
    return {
      get offset() {
        return hasher.size;
      },
      async write(chunk: Uint8Array): Promise<void> {
        check();
        chunks.push(Buffer.from(chunk));
        hasher.update(chunk);
      },
      async commit(expected?: { readonly digest?: Digest; readonly size?: number }): Promise<BlobInfo> {
        check();
        const size = hasher.size;
        const digest = hasher.digest();
        if (expected?.size !== undefined && expected.size !== size) {
          close("aborted");
          throw dataLoss(`unexpected commit size ${size}, expected ${expected.size}`);
        }
        if (expected?.digest !== undefined && expected.digest !== digest) {
          close("aborted");
          throw dataLoss(`unexpected commit digest ${digest}, expected ${expected.digest}`);
        }
        if (!blobs.has(digest)) blobs.set(digest, Buffer.concat(chunks));
        close("committed");
        return { digest, size };
      },
      async abort(): Promise<void> {
        if (state === "open") close("aborted");
      },
      async [Symbol.asyncDispose](): Promise<void> {
        if (state === "open") close("aborted");
      },
    };
  }

  async ingest(
    source: AsyncIterable<Uint8Array>,
    o: { expected?: { digest?: Digest; size?: number }; signal?: AbortSignal } = {},
  ): Promise<BlobInfo> {
    await using w = await this.writer(o.signal === undefined ? {} : { signal: o.signal });
    for await (const chunk of abortable(source, o.signal)) {
      await w.write(chunk);
      if (o.expected?.size !== undefined && w.offset > o.expected.size) {
        throw dataLoss(`blob is larger than the expected ${o.expected.size} bytes`);
      }
    }
    return await w.commit(o.expected);
  }

  async put(data: Uint8Array, o: { expected?: Digest } = {}): Promise<BlobInfo> {
    await using w = await this.writer();
    await w.write(data);
    return await w.commit(
      o.expected === undefined ? { size: data.byteLength } : { digest: o.expected, size: data.byteLength },
    );
  }

  async delete(digest: Digest): Promise<void> {
    this.#blobs.delete(checkDigest(digest));
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const [digest, b] of [...this.#blobs]) yield { digest, size: b.byteLength };
  }

  /** Removes the directory that `path()` materialised blobs into. */
  async close(): Promise<void> {
    liveRoots.delete(this.root);
    await rm(this.root, { recursive: true, force: true });
  }
}

/**
 * LocalContentStore: the ContentStore on a local filesystem (containerd
 * plugins/content/local, simplified). See content-store.ts for the contract.
 *
 *   <root>/blobs/sha256/<hex>   committed blobs, immutable
 *   <root>/tmp/ingest-*         in-flight writes (same filesystem: rename is atomic)
 *
 * Several processes may write the same blob at once: each writes its own temp
 * file and the rename that publishes it is atomic, so readers see either no
 * blob or the whole verified blob, never a partial one.
 */
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  cancelled,
  dataLoss,
  digestHex,
  Hasher,
  invalidParameter,
  isDigest,
  isEngineError,
  notFound,
  systemError,
  throwIfAborted,
  type Digest,
  type EngineError,
} from "../core/index.ts";
import type { BlobInfo, ContentStore, ContentWriter } from "./content-store.ts";

/** Temp files older than this are left by crashed writers and swept by `open()`. */
export const STALE_TEMP_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_READ_BYTES = 4 * 1024 * 1024;
const TEMP_PREFIX = "ingest-";

/** The errno code of a Node system error (never an EngineError's code). */
function errnoOf(err: unknown): string | undefined {
  if (isEngineError(err)) return undefined;
  return typeof err === "object" && err !== null ? ((err as NodeJS.ErrnoException).code ?? undefined) : undefined;
}

/** Classifies a filesystem error met while writing a blob. */
export function writeError(what: string, err: unknown): EngineError {
  if (errnoOf(err) === "ENOSPC") return systemError(`${what}: no space left on device`, { cause: err });
  if (errnoOf(err) === "EDQUOT") return systemError(`${what}: disk quota exceeded`, { cause: err });
  const msg = err instanceof Error ? err.message : String(err);
  return systemError(`${what}: ${msg}`, { cause: err });
}

function checkDigest(d: string): Digest {
  if (!isDigest(d)) throw invalidParameter(`invalid digest: ${JSON.stringify(d)}`);
  return d;
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

class LocalContentWriter implements ContentWriter {
  readonly #store: LocalContentStore;
  readonly #tempPath: string;
  readonly #signal: AbortSignal | undefined;
  readonly #hasher = new Hasher();
  #fh: FileHandle | undefined;
  #state: "open" | "committed" | "aborted" = "open";
  /** Writes are serialised, even if a caller forgets to await. */
  #chain: Promise<void> = Promise.resolve();

  constructor(store: LocalContentStore, fh: FileHandle, tempPath: string, signal: AbortSignal | undefined) {
    this.#store = store;
    this.#fh = fh;
    this.#tempPath = tempPath;
    this.#signal = signal;
  }

  get offset(): number {
    return this.#hasher.size;
  }

  write(chunk: Uint8Array): Promise<void> {
    const p = this.#chain.then(() => this.#write(chunk));
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async #write(chunk: Uint8Array): Promise<void> {
    this.#checkOpen();
    if (this.#signal?.aborted) {
      await this.abort();
      throwIfAborted(this.#signal);
    }
    const fh = this.#fh as FileHandle;
    try {
      let off = 0;
      while (off < chunk.byteLength) {
        const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
        off += bytesWritten;
      }
    } catch (err) {
      await this.abort();
      throw writeError("write blob", err);
    }
    this.#hasher.update(chunk);
  }

  commit(expected?: { readonly digest?: Digest; readonly size?: number }): Promise<BlobInfo> {
    const p = this.#chain.then(() => this.#commit(expected));
    this.#chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  async #commit(expected?: { readonly digest?: Digest; readonly size?: number }): Promise<BlobInfo> {
    this.#checkOpen();
    if (this.#signal?.aborted) {
      await this.abort();
      throwIfAborted(this.#signal);
    }
    const size = this.#hasher.size;
    const digest = this.#hasher.digest();
    if (expected?.size !== undefined && expected.size !== size) {
      await this.abort();
      throw dataLoss(`unexpected commit size ${size}, expected ${expected.size}`, {
        detail: { expectedSize: expected.size, actualSize: size },
      });
    }
    if (expected?.digest !== undefined && expected.digest !== digest) {
      await this.abort();
      throw dataLoss(`unexpected commit digest ${digest}, expected ${expected.digest}`, {
        detail: { expectedDigest: expected.digest, actualDigest: digest },
      });
    }
    const target = this.#store.blobPath(digest);
    const fh = this.#fh as FileHandle;
    try {
      if (await exists(target)) {
        // Identical by definition: drop our copy.
        await this.abort();
        this.#state = "committed";
        return { digest, size };
      }
      await fh.sync();
      await fh.close();
      this.#fh = undefined;
      await rename(this.#tempPath, target);
      this.#state = "committed";
      await fsyncDir(this.#store.blobDir);
    } catch (err) {
      if (this.#state !== "committed") await this.abort();
      throw writeError(`commit blob ${digest}`, err);
    }
    return { digest, size };
  }

  async abort(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
    await unlink(this.#tempPath).catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#chain;
    await this.abort();
  }

  #checkOpen(): void {
    if (this.#state !== "open") throw invalidParameter(`content writer is already ${this.#state}`);
  }
}

/**
 * Iterates `source`, but stops with `cancelled` as soon as `signal` fires,
 * even while waiting for the next chunk of a stalled source.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (signal === undefined) {
    yield* source;
    return;
  }
  throwIfAborted(signal);
  const it = source[Symbol.asyncIterator]();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelled("operation cancelled", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r.done === true) return;
      yield r.value;
      throwIfAborted(signal);
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return false;
    throw err;
  }
}

export class LocalContentStore implements ContentStore {
  readonly root: string;
  readonly blobDir: string;
  readonly tmpDir: string;

  private constructor(root: string) {
    this.root = root;
    this.blobDir = join(root, "blobs", "sha256");
    this.tmpDir = join(root, "tmp");
  }

  /**
   * Opens (creating if needed) a store at `root` and sweeps temp files older
   * than `staleMs` (default one hour) left by crashed writers. Younger temp
   * files are left alone: another process may still be writing them.
   * @throws system when the directories cannot be created
   */
  static async open(root: string, o: { staleMs?: number } = {}): Promise<LocalContentStore> {
    const s = new LocalContentStore(root);
    try {
      await mkdir(s.blobDir, { recursive: true });
      await mkdir(s.tmpDir, { recursive: true });
    } catch (err) {
      throw writeError(`open content store ${root}`, err);
    }
    await s.sweepTemp(o.staleMs ?? STALE_TEMP_MS);
    return s;
  }

  /** Removes ingest temp files whose mtime is older than `olderThanMs`. Returns how many were removed. */
  async sweepTemp(olderThanMs: number): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const name of await readdir(this.tmpDir)) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const p = join(this.tmpDir, name);
      try {
        const st = await stat(p);
        if (now - st.mtimeMs > olderThanMs) {
          await rm(p, { force: true });
          removed++;
        }
      } catch {
        /* raced with its writer or another sweeper */
      }
    }
    return removed;
  }

  blobPath(digest: Digest): string {
    return join(this.blobDir, digestHex(checkDigest(digest)));
  }

  async has(digest: Digest): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (errnoOf(err) === "ENOENT") throw notFound(`blob ${digest}: not found`, { cause: err });
      throw err;
    }
  }

  async path(digest: Digest): Promise<string> {
    await this.info(digest);
    return this.blobPath(digest);
  }

  async readBytes(digest: Digest, o: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Buffer> {
    throwIfAborted(o.signal);
    const max = o.maxBytes ?? DEFAULT_MAX_READ_BYTES;
    const fh = await this.#openBlob(digest);
    try {
      const st = await fh.stat();
      if (st.size > max) {
        throw invalidParameter(`blob ${digest} is ${st.size} bytes, larger than the ${max} bytes allowed here`);
      }
      const buf = await fh.readFile(o.signal === undefined ? {} : { signal: o.signal });
      if (buf.byteLength > max) throw invalidParameter(`blob ${digest} is larger than the ${max} bytes allowed here`);
      return buf;
    } catch (err) {
      if (err instanceof Error && err.name === "AbortError") throw cancelled("read cancelled", { cause: err });
      throw err;
    } finally {
      await fh.close();
    }
  }

  async openRead(digest: Digest, o: { signal?: AbortSignal } = {}): Promise<Readable> {
    throwIfAborted(o.signal);
    const fh = await this.#openBlob(digest);
    return fh.createReadStream(o.signal === undefined ? {} : { signal: o.signal });
  }

  async #openBlob(digest: Digest): Promise<FileHandle> {
    try {
      return await open(this.blobPath(digest), "r");
    } catch (err) {
      if (errnoOf(err) === "ENOENT") throw notFound(`blob ${digest}: not found`, { cause: err });
      throw err;
    }
  }

  async writer(o: { signal?: AbortSignal } = {}): Promise<ContentWriter> {
    throwIfAborted(o.signal);
    const tempPath = join(this.tmpDir, `${TEMP_PREFIX}${process.pid}-${randomBytes(8).toString("hex")}`);
    let fh: FileHandle;
    try {
      fh = await open(tempPath, "wx", 0o644);
    } catch (err) {
      throw writeError("create temp file for blob", err);
    }
    return new LocalContentWriter(this, fh, tempPath, o.signal);
  }

  async ingest(
    source: AsyncIterable<Uint8Array>,
    o: { expected?: { digest?: Digest; size?: number }; signal?: AbortSignal } = {},
  ): Promise<BlobInfo> {
    const w = await this.writer(o.signal === undefined ? {} : { signal: o.signal });
    try {
      for await (const chunk of abortable(source, o.signal)) {
        await w.write(chunk);
        if (o.expected?.size !== undefined && w.offset > o.expected.size) {
          throw dataLoss(`blob is larger than the expected ${o.expected.size} bytes`, {
            detail: { expectedSize: o.expected.size },
          });
        }
      }
      return await w.commit(o.expected);
    } catch (err) {
      await w.abort();
      if (err instanceof Error && err.name === "AbortError") throw cancelled("ingest cancelled", { cause: err });
      throw err;
    }
  }

  async put(data: Uint8Array, o: { expected?: Digest } = {}): Promise<BlobInfo> {
    await using w = await this.writer();
    await w.write(data);
    return await w.commit(
      o.expected === undefined ? { size: data.byteLength } : { digest: o.expected, size: data.byteLength },
    );
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await unlink(this.blobPath(digest));
    } catch (err) {
      if (errnoOf(err) !== "ENOENT") throw writeError(`delete blob ${digest}`, err);
    }
  }

  async *walk(): AsyncIterable<BlobInfo> {
    for (const name of await readdir(this.blobDir)) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      try {
        const st = await stat(join(this.blobDir, name));
        if (st.isFile()) yield { digest, size: st.size };
      } catch {
        /* deleted meanwhile */
      }
    }
  }
}

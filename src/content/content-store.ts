/**
 * The content store: blobs addressed by digest (containerd core/content).
 *
 * Layout: `<root>/blobs/sha256/<hex>`; in-flight writes in `<root>/tmp/`
 * (same filesystem, so the final step is an atomic rename).
 *
 * Lifecycle of a write: `writer()` opens a temp file; `write()` appends and
 * hashes; `commit(expected)` checks size and digest, fsyncs the file, renames
 * it under its digest and fsyncs the directory. A mismatch throws `data-loss`
 * and removes the temp file. Disposing a writer without commit removes the
 * temp file. So a blob that is visible under a digest always has that digest,
 * and a crash leaves at most stray temp files, which `open()` of a new store
 * sweeps.
 *
 * Blobs are immutable; writing one that exists is a no-op that still verifies.
 * Deleting is garbage collection's job (the GC in `images/` decides what is
 * referenced).
 */
import type { Readable } from "node:stream";
import type { Digest } from "../core/index.ts";

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
}

export interface ContentWriter extends AsyncDisposable {
  /** Bytes written so far. */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies and publishes the blob. @throws data-loss on a size or digest mismatch */
  commit(expected?: { readonly digest?: Digest; readonly size?: number }): Promise<BlobInfo>;
  /** Drops the temp file (also what dispose does without commit). */
  abort(): Promise<void>;
}

export interface ContentStore {
  /** Absolute path of the store root (blobs/ and tmp/ are under it). */
  readonly root: string;
  has(digest: Digest): Promise<boolean>;
  /** @throws not-found */
  info(digest: Digest): Promise<BlobInfo>;
  /** Path of a committed blob on disk, for readers that want a file (tar packers, sendfile). @throws not-found */
  path(digest: Digest): Promise<string>;
  /** Reads a whole small blob (manifests, configs). @throws not-found; invalid-parameter when larger than maxBytes (default 4 MiB) */
  readBytes(digest: Digest, o?: { signal?: AbortSignal; maxBytes?: number }): Promise<Buffer>;
  /** Streams a blob. @throws not-found */
  openRead(digest: Digest, o?: { signal?: AbortSignal }): Promise<Readable>;
  writer(o?: { signal?: AbortSignal }): Promise<ContentWriter>;
  /** Writes a stream as one blob; verifies against `expected` if given. @throws data-loss, cancelled */
  ingest(
    source: AsyncIterable<Uint8Array>,
    o?: { expected?: { digest?: Digest; size?: number }; signal?: AbortSignal },
  ): Promise<BlobInfo>;
  /** Writes bytes as one blob (a manifest, a config). */
  put(data: Uint8Array, o?: { expected?: Digest }): Promise<BlobInfo>;
  /** Removes a blob; missing is not an error. */
  delete(digest: Digest): Promise<void>;
  walk(): AsyncIterable<BlobInfo>;
}

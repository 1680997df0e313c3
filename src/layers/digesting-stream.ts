/**
 * A pass-through that hashes every byte on its way through, so one read of a
 * layer yields both its diffID (uncompressed) and its blob digest (compressed)
 * when two of these sit on either side of a (de)compressor.
 */
import { Transform, type TransformCallback } from "node:stream";
import { Hasher, type Digest } from "../core/digest.ts";

export class DigestingStream extends Transform {
  /** Resolves with sha256 of everything that passed once the stream ends; rejects if it is destroyed first. */
  readonly digest: Promise<Digest>;
  /** Resolves with the byte count at the same moment as `digest`. */
  readonly size: Promise<number>;
  readonly #hasher = new Hasher();
  #resolve!: (v: { digest: Digest; size: number }) => void;

  constructor() {
    super();
    let reject!: (e: unknown) => void;
    const done = new Promise<{ digest: Digest; size: number }>((res, rej) => {
      this.#resolve = res;
      reject = rej;
    });
    // Callers often read only one of the two promises; never leave an unhandled rejection behind.
    done.catch(() => {});
    this.digest = done.then((d) => d.digest);
    this.size = done.then((d) => d.size);
    this.digest.catch(() => {});
    this.size.catch(() => {});
    this.once("close", () => reject(this.errored ?? new Error("stream closed before it ended")));
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#hasher.size;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#hasher.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.#resolve({ digest: this.#hasher.digest(), size: this.#hasher.size });
    cb();
  }
}

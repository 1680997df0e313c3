/**
 * Layer compression: sniffing on the way in, deterministic output on the way out.
 * Docker and containerd recognise layers by magic bytes, not by media type, and
 * so do we (a registry's media type is a hint; the bytes are the truth).
 */
import { Readable, Transform, addAbortSignal, pipeline } from "node:stream";
import { constants, createGunzip, createGzip, createZstdCompress, createZstdDecompress } from "node:zlib";
import { dataLoss, invalidParameter } from "../core/errors.ts";

export type LayerCompression = "gzip" | "zstd" | "none";

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

/** Compression named by the first bytes of a stream (at least 4 bytes, or all of a shorter stream). */
export function sniffCompression(head: Uint8Array): LayerCompression {
  const starts = (m: readonly number[]) => head.length >= m.length && m.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return "gzip";
  if (starts(ZSTD_MAGIC)) return "zstd";
  return "none";
}

/** Gzip level docker uses (Go's gzip.DefaultCompression, which is zlib level 6). */
export const DEFAULT_GZIP_LEVEL = 6;
/** zstd's own default level, also what containerd and BuildKit use. */
export const DEFAULT_ZSTD_LEVEL = 3;

const ZSTD_FEED = 128 << 10;

function decoderFor(kind: "gzip" | "zstd"): Transform {
  return kind === "gzip" ? createGunzip() : createZstdDecompress();
}

/** zlib errors mean the compressed bytes are damaged or cut short. */
function classifyZlib(err: unknown, kind: string): unknown {
  if (!(err instanceof Error) || err.name === "AbortError") return err;
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (code === "Z_BUF_ERROR" || /unexpected end/i.test(err.message)) {
    return dataLoss(`${kind} layer is truncated: ${err.message}`, { cause: err });
  }
  if (code.startsWith("Z_") || code.startsWith("ERR_ZSTD") || code.startsWith("ZSTD")) {
    return invalidParameter(`${kind} layer is corrupt: ${err.message}`, { cause: err });
  }
  return err;
}

/**
 * Sniffs gzip (1f 8b), zstd (28 b5 2f fd) or plain tar and returns the uncompressed stream.
 * Errors: a damaged gzip/zstd stream fails the returned stream with data-loss (truncated) or
 * invalid-parameter (corrupt); an abort fails it with an AbortError (kind cancelled).
 */
export function decompress(input: Readable, o: { signal?: AbortSignal } = {}): Readable {
  async function* run(): AsyncGenerator<Buffer> {
    const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const head: Buffer[] = [];
    let headLen = 0;
    let done = false;
    while (headLen < 4) {
      const r = await it.next();
      if (r.done === true) {
        done = true;
        break;
      }
      const b = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      head.push(b);
      headLen += b.length;
    }
    async function* rest(): AsyncGenerator<Buffer> {
      yield* head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        yield typeof r.value === "string" ? Buffer.from(r.value) : r.value;
      }
    }
    const kind = sniffCompression(Buffer.concat(head));
    if (kind === "none") {
      yield* rest();
      return;
    }
    const decoder = decoderFor(kind);
    const feed = Readable.from(rest(), { objectMode: false });
    pipeline(feed, decoder, () => {}); // errors surface through iteration of `decoder`
    try {
      for await (const chunk of decoder) yield chunk as Buffer;
    } catch (err) {
      throw classifyZlib(err, kind);
    } finally {
      feed.destroy();
    }
  }
  const out = Readable.from(run(), { objectMode: false });
  input.once("error", (err) => out.destroy(err));
  if (o.signal !== undefined) addAbortSignal(o.signal, out);
  return out;
}

/**
 * Compresses a tar stream. Output is deterministic for equal input and level: Node writes
 * gzip headers with no file name and mtime 0, and zstd frames carry no timestamps.
 * @throws invalid-parameter for a level outside 1..9 (gzip) or 1..22 (zstd)
 */
export function compress(input: Readable, kind: "gzip" | "zstd", o: { level?: number } = {}): Readable {
  let encoder: Transform;
  if (kind === "gzip") {
    const level = o.level ?? DEFAULT_GZIP_LEVEL;
    if (!Number.isInteger(level) || level < 1 || level > 9) throw invalidParameter(`invalid gzip level ${level}: must be 1..9`);
    encoder = createGzip({ level });
  } else {
    const level = o.level ?? DEFAULT_ZSTD_LEVEL;
    if (!Number.isInteger(level) || level < 1 || level > 22) throw invalidParameter(`invalid zstd level ${level}: must be 1..22`);
    encoder = createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: level, [constants.ZSTD_c_checksumFlag]: 0, [constants.ZSTD_c_contentSizeFlag]: 0 } });
  }
  return kind === "zstd" ? pipeline(input, rechunk(ZSTD_FEED), encoder, () => {}) : pipeline(input, encoder, () => {});
}

/**
 * Feeds the encoder a call sequence that depends only on the input bytes, never on how they were
 * chunked: one first byte alone (so zstd never sees "all input at once", which lets it size its
 * tables to the input), then fixed-size pieces. zstd's streaming output otherwise varies with the
 * chunking (measured: 400 KB in 1 KB vs 64 KB chunks gave different frames). gzip is stable anyway.
 */
function rechunk(size: number): Transform {
  let started = false;
  let pending: Buffer[] = [];
  let pendingLen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      let b = chunk;
      if (!started && b.length > 0) {
        started = true;
        this.push(b.subarray(0, 1));
        b = b.subarray(1);
      }
      pending.push(b);
      pendingLen += b.length;
      if (pendingLen >= size) {
        const all = Buffer.concat(pending, pendingLen);
        let off = 0;
        for (; off + size <= all.length; off += size) this.push(all.subarray(off, off + size));
        pending = [all.subarray(off)];
        pendingLen = all.length - off;
      }
      cb();
    },
    flush(cb) {
      cb(null, pendingLen > 0 ? Buffer.concat(pending, pendingLen) : undefined);
    },
  });
}

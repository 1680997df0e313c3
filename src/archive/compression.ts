/**
 * Compression sniffing and streaming decompression for archives and layers.
 * A private stand-in until src/layers/ lands its `decompress`; the magic
 * numbers are those of RFC 1952 (gzip), RFC 8878 (zstd), bzip2 and xz.
 */
import { once } from "node:events";
import { createGunzip, createZstdDecompress } from "node:zlib";
import type { Transform } from "node:stream";
import { dataLoss, invalidParameter, isEngineError } from "../core/index.ts";

export type Compression = "none" | "gzip" | "zstd" | "bzip2" | "xz";

/** The compression named by the first bytes of a stream (at least 6 bytes for a sure answer). */
export function detectCompression(head: Uint8Array): Compression {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return "gzip";
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return "zstd";
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return "bzip2";
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) return "xz";
  return "none";
}

/**
 * Reads the head of `source`, detects its compression and yields the
 * decompressed bytes (or the bytes as they are). `what` names the stream in
 * errors. @throws invalid-parameter for bzip2/xz; data-loss for corrupt or truncated data
 */
export async function* decompressAuto(
  source: AsyncIterable<Uint8Array>,
  what: string,
  onKind?: (c: Compression) => void,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let len = 0;
  let done = false;
  while (len < 6) {
    const r = await it.next();
    if (r.done === true) {
      done = true;
      break;
    }
    head.push(r.value);
    len += r.value.byteLength;
  }
  const first = Buffer.concat(head);
  const kind = detectCompression(first);
  onKind?.(kind);
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (first.byteLength > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }
  switch (kind) {
    case "none":
      yield* rest();
      return;
    case "gzip":
      yield* inflate(rest(), createGunzip(), what);
      return;
    case "zstd":
      yield* inflate(rest(), createZstdDecompress(), what);
      return;
    default:
      await it.return?.();
      throw invalidParameter(`${what}: ${kind} compression is not supported (use gzip or zstd)`);
  }
}

async function* inflate(src: AsyncIterable<Uint8Array>, z: Transform, what: string): AsyncGenerator<Uint8Array> {
  const stop = new AbortController();
  let srcError: unknown;
  const pump = (async () => {
    try {
      for await (const c of src) {
        if (stop.signal.aborted) return;
        if (!z.write(c)) await once(z, "drain", { signal: stop.signal });
      }
      z.end();
    } catch (err) {
      srcError = err;
      z.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();
  try {
    for await (const c of z) yield c as Buffer;
    await pump;
  } catch (err) {
    if (srcError !== undefined && isEngineError(srcError)) throw srcError;
    if (srcError !== undefined && (srcError as Error).name === "AbortError") throw srcError;
    throw dataLoss(`${what}: corrupt or truncated compressed data: ${(err as Error).message}`, { cause: err });
  } finally {
    stop.abort();
    z.destroy();
    await pump.catch(() => undefined);
  }
}

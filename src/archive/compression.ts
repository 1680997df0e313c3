/**
 * Archive-level decompression: a thin layer over src/layers' `decompress`
 * (gzip and zstd sniffed by magic bytes) that also accepts any async iterable
 * and refuses bzip2 and xz with a clear message instead of failing later as
 * "not a tar archive" (`docker load` takes those; berth does not yet, since
 * Node has no bzip2/xz decoder).
 */
import { Readable } from "node:stream";
import { invalidParameter } from "../core/index.ts";
import { decompress, sniffCompression, type LayerCompression } from "../layers/index.ts";

function refused(head: Uint8Array): string | undefined {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return "bzip2";
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00) return "xz";
  return undefined;
}

/**
 * Yields the decompressed bytes of `source` (gzip, zstd or none). `what` names
 * the stream in errors; `onKind` learns the compression found.
 * @throws invalid-parameter for bzip2/xz and corrupt data; data-loss for truncated data
 */
export async function* decompressAuto(
  source: AsyncIterable<Uint8Array>,
  what: string,
  onKind?: (c: LayerCompression) => void,
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
  const bad = refused(first);
  if (bad !== undefined) {
    await it.return?.();
    throw invalidParameter(`${what}: ${bad} compression is not supported (use gzip, zstd or none)`);
  }
  onKind?.(sniffCompression(first));
  async function* rest(): AsyncGenerator<Uint8Array> {
    if (first.byteLength > 0) yield first;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }
  yield* decompress(Readable.from(rest(), { objectMode: false }));
}

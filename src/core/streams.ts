/** Small stream helpers shared by modules. */
import { PassThrough, type Readable } from "node:stream";

/**
 * Splits one readable into two that each see every byte. The source pauses
 * while a live branch is full (backpressure). A branch destroyed by its
 * consumer stops receiving data and the other goes on; an error in the source
 * is passed to both.
 */
export function tee(source: Readable): [Readable, Readable] {
  const branches = [new PassThrough(), new PassThrough()] as const;
  const live = (b: PassThrough): boolean => !b.destroyed && !b.writableEnded;
  source.on("error", (err) => {
    for (const b of branches) if (!b.destroyed) b.destroy(err);
  });
  for (const b of branches) {
    b.on("drain", () => source.resume());
    b.on("close", () => {
      if (branches.every((x) => x.destroyed)) source.destroy();
      else source.resume();
    });
  }
  source.on("data", (chunk: Buffer) => {
    let full = false;
    for (const b of branches) if (live(b) && !b.write(chunk)) full = true;
    if (full) source.pause();
  });
  source.on("end", () => {
    for (const b of branches) if (live(b)) b.end();
  });
  return [branches[0], branches[1]];
}

/** Reads a whole stream into memory, refusing more than `max` bytes. */
export async function readAll(stream: AsyncIterable<Uint8Array>, max = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += c.byteLength;
    if (n > max) throw new Error(`more than ${max} bytes`);
    chunks.push(Buffer.from(c));
  }
  return Buffer.concat(chunks);
}

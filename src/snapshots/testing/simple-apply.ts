/**
 * Test helpers for the snapshotter: build small layer tars in memory, and a
 * minimal apply function (regular files and directories only, no whiteouts,
 * no path hardening) standing in for src/layers' applyLayer in unit tests.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { digestOf, Hasher, invalidParameter, throwIfAborted, type Digest } from "../../core/index.ts";
import type { LayerApplyFn } from "../overlay-snapshotter.ts";

export interface TarFile {
  readonly name: string;
  readonly content?: string | Buffer;
  readonly type?: "file" | "directory";
}

/** A layer tar (uncompressed) with the given members, and its diffID. */
export async function makeLayerTar(files: readonly TarFile[]): Promise<{ tar: Buffer; diffId: Digest }> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on("data", (c: unknown) => {
      chunks.push(c as Buffer);
    });
    pack.on("end", resolve);
    pack.on("error", reject);
  });
  for (const f of files) {
    if (f.type === "directory") pack.entry({ name: f.name, type: "directory", mode: 0o755, mtime: new Date(0) });
    else pack.entry({ name: f.name, mode: 0o644, mtime: new Date(0) }, f.content ?? "");
  }
  pack.finalize();
  await done;
  const buf = Buffer.concat(chunks);
  return { tar: buf, diffId: digestOf(buf) };
}

export const simpleApply: LayerApplyFn = async (input, dest, o) => {
  throwIfAborted(o.signal);
  // Test layers are small: buffer, hash every byte, then extract.
  const hasher = new Hasher();
  const all: Buffer[] = [];
  for await (const c of input as AsyncIterable<Buffer>) {
    hasher.update(c);
    all.push(c);
  }
  const extract = tar.extract();
  Readable.from([Buffer.concat(all)]).pipe(extract);
  let size = 0;
  for await (const entry of extract) {
    throwIfAborted(o.signal);
    const name = normalize(entry.header.name);
    if (name.startsWith("..") || name.startsWith("/")) throw invalidParameter(`unsafe member ${entry.header.name}`);
    const p = join(dest, name);
    if (entry.header.type === "directory") {
      await mkdir(p, { recursive: true });
      entry.resume();
    } else if (entry.header.type === "file") {
      const parts: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) parts.push(c);
      await mkdir(dirname(p), { recursive: true });
      const data = Buffer.concat(parts);
      await writeFile(p, data);
      size += data.byteLength;
    } else {
      entry.resume();
    }
  }
  return { diffId: hasher.digest(), size };
};

/** An `open` for ensureLayers over in-memory tars. */
export function openFrom(tars: readonly Buffer[]): (i: number) => Promise<Readable> {
  return async (i) => {
    const t = tars[i];
    if (t === undefined) throw new Error(`no layer ${i}`);
    return Readable.from([t]);
  };
}

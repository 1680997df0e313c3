/**
 * `load`: a docker-archive or OCI archive (from docker, podman, skopeo or
 * berth) into the store. Blobs are verified by digest as they are read; only
 * when the whole archive has been read are the images and tags recorded, in
 * one transaction, so a bad archive tags nothing.
 */
import type { Readable } from "node:stream";
import { loadArchive } from "../archive/index.ts";
import type { Digest } from "../core/index.ts";
import { familiarString, normalizeReference, referenceString } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { acquireLease } from "./lease.ts";

export interface ImageLoadReport {
  /** Lines as docker prints them: "Loaded image: busybox:latest" or "Loaded image ID: sha256:…". */
  readonly lines: string[];
  readonly images: { id: Digest; tags: string[] }[];
}

export async function imageLoad(ctx: EngineContext, input: Readable, o: { signal?: AbortSignal; onProgress?: (msg: string) => void } = {}): Promise<ImageLoadReport> {
  using _lease = acquireLease(ctx);
  const loaded = await loadArchive({
    input,
    content: ctx.content,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
  });
  const lines: string[] = [];
  const images: { id: Digest; tags: string[] }[] = [];
  ctx.db.transaction(() => {
    for (const img of loaded) {
      const id = img.config;
      ctx.images.put({ id, target: img.manifest });
      const tags: string[] = [];
      for (const t of img.tags) {
        const full = referenceString(normalizeReference(t));
        const before = ctx.images.tag(full, id);
        const shown = familiarString(normalizeReference(t));
        if (before !== undefined) lines.push(`The image ${shown} already exists, renaming the old one with ID ${before} to empty string`);
        lines.push(`Loaded image: ${shown}`);
        tags.push(full);
      }
      if (img.tags.length === 0) lines.push(`Loaded image ID: ${id}`);
      images.push({ id, tags });
    }
  });
  return { lines, images };
}

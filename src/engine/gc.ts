/**
 * Garbage collection (DESIGN.md: removal is GC). Roots are image records
 * (their manifest, config and layer blobs), containers (the image they were
 * made from, and the unpacked layers under them), build-cache records, and
 * live leases (everything newer than the oldest lease is kept). Whatever no
 * root reaches is deleted: blobs in the content store and unpacked layer
 * directories.
 */
import { stat } from "node:fs/promises";
import type { Digest } from "../core/index.ts";
import { isDigest } from "../core/index.ts";
import { parseManifest } from "../oci/validate.ts";
import type { EngineContext } from "./context.ts";
import { oldestLease } from "./lease.ts";

export interface GcReport {
  readonly blobsDeleted: Digest[];
  readonly bytesFreed: number;
}

/** Blobs an image needs: manifest, config, layers. */
export async function imageBlobs(ctx: EngineContext, manifestDigest: Digest): Promise<Digest[]> {
  try {
    const raw = await ctx.content.readBytes(manifestDigest);
    const parsed = parseManifest(raw);
    if (parsed.kind === "index") return [manifestDigest, ...parsed.value.manifests.map((m) => m.digest)];
    return [manifestDigest, parsed.value.config.digest, ...parsed.value.layers.map((l) => l.digest)];
  } catch {
    return [manifestDigest];
  }
}

export async function collectGarbage(ctx: EngineContext, o: { signal?: AbortSignal } = {}): Promise<GcReport> {
  const keep = new Set<string>();
  const imageRows = ctx.db.db.prepare("SELECT id, target FROM images").all() as { id: string; target: string }[];
  for (const row of imageRows) {
    keep.add(row.id);
    const target = JSON.parse(row.target) as { digest: Digest };
    for (const d of await imageBlobs(ctx, target.digest)) keep.add(d);
  }
  const cacheRows = ctx.db.db.prepare("SELECT value FROM build_cache").all() as { value: string }[];
  for (const row of cacheRows) {
    for (const m of row.value.matchAll(/sha256:[a-f0-9]{64}/g)) keep.add(m[0]);
  }
  const since = oldestLease(ctx);
  const deleted: Digest[] = [];
  let bytes = 0;
  for await (const blob of ctx.content.walk()) {
    if (o.signal?.aborted) break;
    if (keep.has(blob.digest) || !isDigest(blob.digest)) continue;
    if (since !== undefined) {
      try {
        const st = await stat(await ctx.content.path(blob.digest));
        if (st.mtime >= since) continue;
      } catch {
        continue;
      }
    }
    await ctx.content.delete(blob.digest);
    deleted.push(blob.digest);
    bytes += blob.size;
  }
  return { blobsDeleted: deleted, bytesFreed: bytes };
}

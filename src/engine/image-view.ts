/**
 * Reading an image back from the store: its manifest and config (validated:
 * they were verified by digest when stored, but are still parsed as untrusted
 * JSON), tags, repo digests, containers and size.
 */
import type { Digest } from "../core/index.ts";
import { dataLoss } from "../core/index.ts";
import type { ImageRecord } from "../images/image-store.ts";
import type { ImageConfig, ImageManifest } from "../oci/index.ts";
import { parseImageConfig, parseManifest } from "../oci/validate.ts";
import type { EngineContext } from "./context.ts";

export interface ImageView {
  readonly record: ImageRecord;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly configRaw: Buffer;
  readonly tags: string[];
  readonly repoDigests: string[];
  /** Uncompressed size of all layers where known, else the compressed size. */
  readonly size: number;
}

export async function loadImageView(ctx: EngineContext, id: Digest, o: { signal?: AbortSignal } = {}): Promise<ImageView> {
  const record = ctx.images.get(id);
  const read = o.signal === undefined ? {} : { signal: o.signal };
  const manifestRaw = await ctx.content.readBytes(record.target.digest, read);
  const parsed = parseManifest(manifestRaw, record.target.mediaType);
  if (parsed.kind !== "manifest") throw dataLoss(`image ${id}: target ${record.target.digest} is not an image manifest`);
  const manifest = parsed.value;
  const configRaw = await ctx.content.readBytes(manifest.config.digest, read);
  const config = parseImageConfig(configRaw);
  return {
    record,
    manifest,
    config,
    configRaw,
    tags: ctx.images.tagsOf(id),
    repoDigests: ctx.images.repoDigestsOf(id),
    size: imageSize(ctx, manifest, config),
  };
}

/** Sum of the layers' uncompressed sizes (recorded when unpacked or imported), falling back to compressed sizes. */
export function imageSize(ctx: EngineContext, manifest: ImageManifest, config: ImageConfig): number {
  const stmt = ctx.db.db.prepare("SELECT size FROM layers WHERE diff_id = ?");
  let total = 0;
  manifest.layers.forEach((layer, i) => {
    const diffId = config.rootfs.diff_ids[i];
    const row = diffId === undefined ? undefined : (stmt.get(diffId) as { size: number } | undefined);
    total += row?.size ?? layer.size;
  });
  return total;
}

/** Records a layer's uncompressed size (idempotent). */
export function recordLayerSize(ctx: EngineContext, diffId: Digest, size: number): void {
  ctx.db.db.prepare("INSERT INTO layers (diff_id, size) VALUES (?, ?) ON CONFLICT(diff_id) DO NOTHING").run(diffId, size);
}

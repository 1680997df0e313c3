/**
 * `image prune`: removes dangling images (no tag), or with `all` every image
 * no container uses, then collects garbage (moby daemon/images/image_prune.go).
 */
import type { EngineContext } from "./context.ts";
import { collectGarbage } from "./gc.ts";
import { imageList, type ImageFilters } from "./image-list.ts";
import { imageRemove, type ImageDeleteItem } from "./image-remove.ts";

export interface ImagePruneReport {
  readonly ImagesDeleted: ImageDeleteItem[];
  readonly SpaceReclaimed: number;
}

export async function imagePrune(
  ctx: EngineContext,
  o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {},
): Promise<ImagePruneReport> {
  const filters: Record<string, readonly string[]> = { ...(o.filters ?? {}) };
  const until = filters["until"]?.[0];
  delete filters["until"];
  if (o.all !== true) filters["dangling"] = ["true"];
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  const candidates = await imageList(ctx, { filters, ...sig });
  const cutoff = until === undefined ? undefined : parseUntil(until, ctx.now());
  const deleted: ImageDeleteItem[] = [];
  for (const img of candidates) {
    if (img.Containers > 0) continue;
    if (cutoff !== undefined && img.Created * 1000 >= cutoff) continue;
    deleted.push(...(await imageRemove(ctx, img.Id, { force: true, noPrune: true, ...sig })));
  }
  const gc = await collectGarbage(ctx, sig);
  return { ImagesDeleted: deleted, SpaceReclaimed: gc.bytesFreed };
}

/** docker's until: a timestamp, or a Go duration like 24h / 10m relative to now. */
function parseUntil(s: string, now: Date): number {
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(s);
  if (m !== null) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
    return now.getTime() - Number(m[1]) * unit[m[2]!]!;
  }
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`invalid until filter: ${s}`);
  return t;
}

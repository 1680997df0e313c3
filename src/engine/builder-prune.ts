/**
 * `builder prune`: drops build-cache records (all of them, or down to
 * `keepBytes`), then collects the blobs only they referenced.
 */
import { BuildCache } from "../build/cache.ts";
import type { EngineContext } from "./context.ts";
import { collectGarbage } from "./gc.ts";

export interface BuilderPruneReport {
  readonly CachesDeleted: number;
  readonly SpaceReclaimed: number;
}

export async function builderPrune(ctx: EngineContext, o: { keepBytes?: number; signal?: AbortSignal } = {}): Promise<BuilderPruneReport> {
  const cache = new BuildCache(ctx.db, ctx.now);
  const { removed, freed } = cache.prune(o.keepBytes ?? 0);
  if (o.keepBytes === undefined || o.keepBytes === 0) ctx.db.db.prepare("DELETE FROM build_cache WHERE key LIKE 'slot:%'").run();
  const gc = await collectGarbage(ctx, o.signal === undefined ? {} : { signal: o.signal });
  return { CachesDeleted: removed, SpaceReclaimed: Math.max(freed, gc.bytesFreed) };
}

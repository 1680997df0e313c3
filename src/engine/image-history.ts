/**
 * `history`: the Engine API's HistoryResponseItem list (GET /images/{name}/history),
 * newest first. Entries that made a layer get that layer's size; the newest
 * entry carries the image ID, older ones "<missing>" (their intermediate
 * images are not stored, as with any pulled image).
 */
import type { HistoryEntry } from "../oci/index.ts";
import type { EngineContext } from "./context.ts";
import { resolveImage } from "./image-resolve.ts";
import { loadImageView } from "./image-view.ts";

export interface HistoryItem {
  readonly Id: string;
  readonly Created: number;
  readonly CreatedBy: string;
  readonly Tags: string[] | null;
  readonly Size: number;
  readonly Comment: string;
}

export async function imageHistory(ctx: EngineContext, nameOrId: string, o: { signal?: AbortSignal } = {}): Promise<HistoryItem[]> {
  const { id } = resolveImage(ctx, nameOrId);
  const v = await loadImageView(ctx, id, o);
  const sizeOf = ctx.db.db.prepare("SELECT size FROM layers WHERE diff_id = ?");
  const history: readonly HistoryEntry[] = v.config.history ?? v.config.rootfs.diff_ids.map((): HistoryEntry => ({}));
  let layer = 0;
  const items: HistoryItem[] = history.map((h) => {
    let size = 0;
    if (h.empty_layer !== true) {
      const diffId = v.config.rootfs.diff_ids[layer];
      const row = diffId === undefined ? undefined : (sizeOf.get(diffId) as { size: number } | undefined);
      size = row?.size ?? v.manifest.layers[layer]?.size ?? 0;
      layer++;
    }
    return {
      Id: "<missing>",
      Created: Math.floor((Date.parse(h.created ?? "") || 0) / 1000),
      CreatedBy: h.created_by ?? "",
      Tags: null,
      Size: size,
      Comment: h.comment ?? "",
    };
  });
  items.reverse();
  if (items[0] !== undefined) items[0] = { ...items[0], Id: id, Tags: v.tags.length === 0 ? null : v.tags };
  return items;
}

/** `system df`: disk usage by images, containers, volumes and build cache (GET /system/df). */
import type { EngineContext } from "./context.ts";
import { imageList, type ImageSummary } from "./image-list.ts";

export interface DiskUsage {
  readonly LayersSize: number;
  readonly Images: ImageSummary[];
  readonly Containers: { Id: string; Image: string; SizeRw: number; State: string }[];
  readonly Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[];
  readonly BuildCache: { ID: string; Size: number; InUse: boolean; Shared: boolean }[];
}

export async function systemDf(ctx: EngineContext, o: { signal?: AbortSignal } = {}): Promise<DiskUsage> {
  const images = await imageList(ctx, o);
  let layers = 0;
  for await (const b of ctx.content.walk()) layers += b.size;
  const containers = (ctx.db.db.prepare("SELECT id, image_id, state FROM containers").all() as { id: string; image_id: string; state: string }[]).map(
    (r) => {
      const st = JSON.parse(r.state) as { Status?: string; SizeRw?: number };
      return { Id: r.id, Image: r.image_id, SizeRw: st.SizeRw ?? 0, State: st.Status ?? "created" };
    },
  );
  const cache = (ctx.db.db.prepare("SELECT key, size FROM build_cache").all() as { key: string; size: number }[]).map((r) => ({
    ID: r.key,
    Size: r.size,
    InUse: false,
    Shared: false,
  }));
  return { LayersSize: layers, Images: images, Containers: containers, Volumes: [], BuildCache: cache };
}

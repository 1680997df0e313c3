/** `volume rm`, `volume prune`, and the removal of a container's anonymous volumes (rm -v, --rm). */
import { conflict } from "../core/index.ts";
import { diskUsage, isAnonymous } from "../volumes/index.ts";
import type { EngineContext } from "./context.ts";
import { labelMatches, usedVolumes, type VolumeFilters } from "./volume-list.ts";
import { volumeStoreOf, volumeUsers } from "./volume-mounts.ts";

/**
 * @throws conflict `remove <name>: volume is in use - [<ids>]` when a container mounts it
 *   (with force too, as docker)
 * @throws not-found `get <name>: no such volume` (not with force)
 */
export async function volumeRemove(ctx: EngineContext, name: string, o: { force?: boolean } = {}): Promise<void> {
  const store = volumeStoreOf(ctx);
  if (store.find(name) === undefined) {
    if (o.force === true) return;
    store.get(name);
  }
  const users = volumeUsers(ctx, name);
  if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(", ")}]`);
  await store.remove(name);
}

export interface VolumePruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}

/** Removes unused anonymous volumes, or with `all` every unused volume; `label` / `label!` filters. */
export async function volumePrune(ctx: EngineContext, o: { all?: boolean; filters?: VolumeFilters } = {}): Promise<VolumePruneReport> {
  const store = volumeStoreOf(ctx);
  const used = usedVolumes(ctx);
  const f = o.filters ?? {};
  const all = o.all === true || (f["all"] ?? []).some((x) => x === "true" || x === "1");
  const report: VolumePruneReport = { VolumesDeleted: [], SpaceReclaimed: 0 };
  for (const v of store.list()) {
    if (used.has(v.Name) || (!all && !isAnonymous(v))) continue;
    if (f["label"] !== undefined && !f["label"].every((l) => labelMatches(v.Labels, l))) continue;
    if (f["label!"] !== undefined && f["label!"].some((l) => labelMatches(v.Labels, l))) continue;
    const size = await diskUsage(v.Mountpoint);
    try {
      await store.remove(v.Name);
    } catch {
      continue;
    }
    report.VolumesDeleted.push(v.Name);
    report.SpaceReclaimed += size;
  }
  return report;
}

/** Removes the given anonymous volumes that no other container uses (after the container's record is gone). */
export async function removeAnonymousVolumes(ctx: EngineContext, names: readonly string[]): Promise<void> {
  const store = volumeStoreOf(ctx);
  const used = usedVolumes(ctx);
  for (const n of names) {
    const v = store.find(n);
    if (v === undefined || used.has(n) || !isAnonymous(v)) continue;
    await store.remove(n).catch(() => undefined);
  }
}

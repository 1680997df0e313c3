/** `volume ls` with docker's filters: dangling, name (substring), label (key or key=value), driver. */
import { invalidParameter } from "../core/index.ts";
import type { VolumeRecord } from "../volumes/index.ts";
import type { EngineContext } from "./context.ts";
import { listContainers } from "./container-record.ts";
import { volumeStoreOf } from "./volume-mounts.ts";

export type VolumeFilters = Record<string, string[]>;

/** Names of volumes some container (any state) mounts. */
export function usedVolumes(ctx: EngineContext): Set<string> {
  const used = new Set<string>();
  for (const r of listContainers(ctx)) for (const m of r.config.HostConfig.Mounts) if (m.Type === "volume" && m.Name !== undefined) used.add(m.Name);
  return used;
}

export function labelMatches(labels: Record<string, string>, spec: string): boolean {
  const eq = spec.indexOf("=");
  if (eq < 0) return Object.hasOwn(labels, spec);
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

export function volumeList(ctx: EngineContext, o: { filters?: VolumeFilters } = {}): VolumeRecord[] {
  const f = o.filters ?? {};
  for (const k of Object.keys(f)) {
    if (!["dangling", "name", "label", "driver"].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
  }
  const used = f["dangling"] !== undefined ? usedVolumes(ctx) : new Set<string>();
  return volumeStoreOf(ctx)
    .list()
    .filter((v) => {
      for (const d of f["dangling"] ?? []) {
        if (!["true", "false", "1", "0"].includes(d)) throw invalidParameter(`invalid filter 'dangling=${d}'`);
        const want = d === "true" || d === "1";
        if (want === used.has(v.Name)) return false;
      }
      if (f["name"] !== undefined && !f["name"].some((n) => v.Name.includes(n))) return false;
      if (f["driver"] !== undefined && !f["driver"].includes(v.Driver)) return false;
      if (f["label"] !== undefined && !f["label"].every((l) => labelMatches(v.Labels, l))) return false;
      return true;
    });
}

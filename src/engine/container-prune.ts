/**
 * `container prune`: removes every stopped container (created, exited,
 * dead), optionally only those created before `until` or matching `label`
 * filters (moby daemon/prune.go ContainersPrune). Space reclaimed is the
 * disk usage of each container's writable layer.
 */
import { join } from "node:path";
import { invalidParameter, isEngineError } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, isActive, listContainers } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerRemove } from "./container-remove.ts";
import { snapshotterOf } from "./services.ts";

export interface ContainerPruneReport {
  readonly ContainersDeleted: string[];
  readonly SpaceReclaimed: number;
}

/** docker's until: a Go duration relative to now (10m, 1h30m), a Unix timestamp, or a date. */
export function parseUntil(s: string, now: Date): number {
  const dur = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(s);
  if (dur) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
    let ms = 0;
    for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * unit[m[2]!]!;
    return now.getTime() - ms;
  }
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw invalidParameter(`failed to parse value as time or duration: "${s}"`);
  return t;
}

/** label=key, label=key=value (label!= negates). */
export function labelMatches(labels: Readonly<Record<string, string>>, spec: string): boolean {
  const eq = spec.indexOf("=");
  if (eq < 0) return Object.hasOwn(labels, spec);
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

export async function containerPrune(
  ctx: EngineContext,
  o: { filters?: Readonly<Record<string, readonly string[]>>; signal?: AbortSignal } = {},
): Promise<ContainerPruneReport> {
  const f = o.filters ?? {};
  for (const k of Object.keys(f)) {
    if (k !== "until" && k !== "label" && k !== "label!") throw invalidParameter(`invalid filter '${k}'`);
  }
  const untilList = f["until"] ?? [];
  if (untilList.length > 1) throw invalidParameter("more than one until filter specified");
  const cutoff = untilList[0] === undefined ? undefined : parseUntil(untilList[0], ctx.now());
  const deleted: string[] = [];
  let reclaimed = 0;
  const snap = snapshotterOf(ctx);
  for (const r of listContainers(ctx)) {
    if (o.signal?.aborted === true) break;
    const rec = await refreshContainer(ctx, r);
    if (isActive(rec.state) || rec.state.Status === "removing") continue;
    if (cutoff !== undefined && Date.parse(rec.created) >= cutoff) continue;
    const labels = rec.config.Labels;
    if (f["label"] !== undefined && !f["label"].every((l) => labelMatches(labels, l))) continue;
    if (f["label!"] !== undefined && f["label!"].some((l) => labelMatches(labels, l))) continue;
    const size = await snap.usage(join(containerDir(ctx, rec.id), "upper")).then((u) => u.bytes, () => 0);
    try {
      await containerRemove(ctx, rec.id, {});
    } catch (e) {
      if (isEngineError(e) && (e.kind === "conflict" || e.kind === "not-found")) continue; // started or removed meanwhile
      throw e;
    }
    deleted.push(rec.id);
    reclaimed += size;
  }
  return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
}

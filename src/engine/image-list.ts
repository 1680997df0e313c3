/**
 * `images`: image summaries with the Engine API's fields (GET /images/json),
 * filtered as docker filters them (reference, dangling, label, before, since).
 */
import type { Digest } from "../core/index.ts";
import { invalidParameter } from "../core/index.ts";
import { familiarString, parseReference, tagNameOnly } from "../oci/reference.ts";
import type { EngineContext } from "./context.ts";
import { resolveImage } from "./image-resolve.ts";
import { loadImageView } from "./image-view.ts";

export interface ImageSummary {
  readonly Id: Digest;
  readonly ParentId: string;
  /** Familiar names: "node:latest". */
  readonly RepoTags: string[];
  readonly RepoDigests: string[];
  /** Unix seconds. */
  readonly Created: number;
  readonly Size: number;
  readonly SharedSize: number;
  readonly Labels: Record<string, string>;
  readonly Containers: number;
}

export type ImageFilters = Readonly<Record<string, readonly string[]>>;

const knownFilters = new Set(["reference", "dangling", "label", "before", "since", "until"]);

/** Go's path.Match for one pattern against a whole string (`*`, `?`, `[...]`). */
export function globMatch(pattern: string, s: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) return false;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith("^")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\]\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(s);
}

function matchesReference(patterns: readonly string[], tags: string[], digests: string[]): boolean {
  const names = [...tags, ...digests];
  return patterns.some((p) =>
    names.some((n) => {
      const familiar = familiarString(parseReference(n));
      const repo = familiar.replace(/[:@].*$/, "");
      return globMatch(p, familiar) || globMatch(p, repo) || globMatch(p, n);
    }),
  );
}

function labelsMatch(filters: readonly string[], labels: Record<string, string>): boolean {
  return filters.every((f) => {
    const eq = f.indexOf("=");
    if (eq < 0) return f in labels;
    return labels[f.slice(0, eq)] === f.slice(eq + 1);
  });
}

export async function imageList(
  ctx: EngineContext,
  o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {},
): Promise<ImageSummary[]> {
  const filters = o.filters ?? {};
  for (const k of Object.keys(filters)) {
    if (!knownFilters.has(k)) throw invalidParameter(`invalid filter '${k}'`);
  }
  const containerCounts = new Map<string, number>();
  for (const row of ctx.db.db.prepare("SELECT image_id, COUNT(*) AS n FROM containers GROUP BY image_id").all() as { image_id: string; n: number }[]) {
    containerCounts.set(row.image_id, row.n);
  }
  const createdOf = async (nameOrId: string): Promise<number> => {
    const v = await loadImageView(ctx, resolveImage(ctx, nameOrId).id);
    return Date.parse(v.config.created ?? "") || 0;
  };
  const before = filters["before"]?.[0] === undefined ? undefined : await createdOf(filters["before"][0]);
  const since = filters["since"]?.[0] === undefined ? undefined : await createdOf(filters["since"][0]);
  const dangling = filters["dangling"]?.[0];
  if (dangling !== undefined && !["true", "false", "1", "0"].includes(dangling)) {
    throw invalidParameter(`invalid filter 'dangling=${dangling}'`);
  }
  const out: ImageSummary[] = [];
  for (const rec of ctx.images.list()) {
    const opt = o.signal === undefined ? {} : { signal: o.signal };
    const v = await loadImageView(ctx, rec.id, opt);
    const created = Date.parse(v.config.created ?? "") || 0;
    const labels = { ...(v.config.config?.Labels ?? {}) };
    const isDangling = v.tags.length === 0;
    if (dangling !== undefined && isDangling !== (dangling === "true" || dangling === "1")) continue;
    if (filters["reference"] !== undefined && !matchesReference(filters["reference"], v.tags, v.repoDigests)) continue;
    if (filters["label"] !== undefined && !labelsMatch(filters["label"], labels)) continue;
    if (before !== undefined && created >= before) continue;
    if (since !== undefined && created <= since) continue;
    out.push({
      Id: rec.id,
      ParentId: "",
      RepoTags: v.tags.map((t) => familiarString(parseReference(t))),
      RepoDigests: v.repoDigests.map((d) => familiarString(parseReference(d))),
      Created: Math.floor(created / 1000),
      Size: v.size,
      SharedSize: -1,
      Labels: labels,
      Containers: containerCounts.get(rec.id) ?? 0,
    });
  }
  out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  return out;
}

/** `images REPOSITORY[:TAG]` is a reference filter on the repository (and tag). */
export function repositoryArgFilter(arg: string): string {
  const ref = parseReference(arg);
  return familiarString(ref.tag === undefined && ref.digest === undefined ? ref : tagNameOnly(ref));
}

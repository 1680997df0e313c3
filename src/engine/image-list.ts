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

interface ImageMeta {
  readonly created: number;
  readonly labels: Record<string, string>;
  readonly layers: { readonly diffId: string; readonly size: number }[];
}

/**
 * Listing reads only the database: each image's created time, labels and
 * layers are derived from its config once (configs are immutable: the ID is
 * their digest) and kept in `images.meta`.
 */
async function metaOf(ctx: EngineContext, id: Digest, stored: string | null, signal: AbortSignal | undefined): Promise<ImageMeta> {
  if (stored !== null) return JSON.parse(stored) as ImageMeta;
  const v = await loadImageView(ctx, id, signal === undefined ? {} : { signal });
  const meta: ImageMeta = {
    created: Date.parse(v.config.created ?? "") || 0,
    labels: { ...(v.config.config?.Labels ?? {}) },
    layers: v.manifest.layers.map((l, i) => ({ diffId: v.config.rootfs.diff_ids[i] ?? "", size: l.size })),
  };
  ctx.db.db.prepare("UPDATE images SET meta = ? WHERE id = ?").run(JSON.stringify(meta), id);
  return meta;
}

export async function imageList(
  ctx: EngineContext,
  o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {},
): Promise<ImageSummary[]> {
  const filters = o.filters ?? {};
  for (const k of Object.keys(filters)) {
    if (!knownFilters.has(k)) throw invalidParameter(`invalid filter '${k}'`);
  }
  const db = ctx.db.db;
  const containerCounts = new Map<string, number>();
  for (const row of db.prepare("SELECT image_id, COUNT(*) AS n FROM containers GROUP BY image_id").all() as { image_id: string; n: number }[]) {
    containerCounts.set(row.image_id, row.n);
  }
  const tags = new Map<string, string[]>();
  for (const t of db.prepare("SELECT name, image_id FROM tags ORDER BY name").all() as { name: string; image_id: string }[]) {
    (tags.get(t.image_id) ?? tags.set(t.image_id, []).get(t.image_id)!).push(t.name);
  }
  const digests = new Map<string, string[]>();
  for (const t of db.prepare("SELECT name, image_id FROM repo_digests ORDER BY name").all() as { name: string; image_id: string }[]) {
    (digests.get(t.image_id) ?? digests.set(t.image_id, []).get(t.image_id)!).push(t.name);
  }
  const layerSizes = new Map<string, number>();
  for (const l of db.prepare("SELECT diff_id, size FROM layers").all() as { diff_id: string; size: number }[]) layerSizes.set(l.diff_id, l.size);
  const rows = db.prepare("SELECT id, meta FROM images").all() as { id: string; meta: string | null }[];
  const metas = new Map<string, ImageMeta>();
  for (const r of rows) metas.set(r.id, await metaOf(ctx, r.id as Digest, r.meta, o.signal));
  const createdOf = (nameOrId: string): number => metas.get(resolveImage(ctx, nameOrId).id)?.created ?? 0;
  const before = filters["before"]?.[0] === undefined ? undefined : createdOf(filters["before"][0]);
  const since = filters["since"]?.[0] === undefined ? undefined : createdOf(filters["since"][0]);
  const dangling = filters["dangling"]?.[0];
  if (dangling !== undefined && !["true", "false", "1", "0"].includes(dangling)) {
    throw invalidParameter(`invalid filter 'dangling=${dangling}'`);
  }
  const out: ImageSummary[] = [];
  for (const r of rows) {
    const meta = metas.get(r.id)!;
    const imgTags = tags.get(r.id) ?? [];
    const imgDigests = digests.get(r.id) ?? [];
    const isDangling = imgTags.length === 0;
    if (dangling !== undefined && isDangling !== (dangling === "true" || dangling === "1")) continue;
    if (filters["reference"] !== undefined && !matchesReference(filters["reference"], imgTags, imgDigests)) continue;
    if (filters["label"] !== undefined && !labelsMatch(filters["label"], meta.labels)) continue;
    if (before !== undefined && meta.created >= before) continue;
    if (since !== undefined && meta.created <= since) continue;
    out.push({
      Id: r.id as Digest,
      ParentId: "",
      RepoTags: imgTags.map((t) => familiarString(parseReference(t))),
      RepoDigests: imgDigests.map((d) => familiarString(parseReference(d))),
      Created: Math.floor(meta.created / 1000),
      Size: meta.layers.reduce((n, l) => n + (layerSizes.get(l.diffId) ?? l.size), 0),
      SharedSize: -1,
      Labels: meta.labels,
      Containers: containerCounts.get(r.id) ?? 0,
    });
  }
  out.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0));
  return out;
}

/** `images REPOSITORY[:TAG]` is a reference filter on the repository (and tag). */
export function repositoryArgFilter(arg: string): string {
  const ref = parseReference(arg);
  return familiarString(ref.tag === undefined && ref.digest === undefined ? ref : tagNameOnly(ref));
}

/**
 * The build cache: content-keyed records of filesystem steps (RUN, COPY, ADD,
 * WORKDIR), kept in the `build_cache` table, that explain their misses.
 *
 * Key of a step = sha256 of the canonical JSON of its `CacheInputs`:
 *   parent  the key of the previous filesystem step (or of the base image:
 *           `base:<image id>`, `scratch`), so a change anywhere below
 *           invalidates everything above, as in Docker;
 *   op      the instruction's definition after expansion, plus what it
 *           depends on (for RUN: shell, user, workdir, network, mounts);
 *   vars    values of the variables the step depends on (RUN: its whole
 *           environment; COPY/ADD/WORKDIR: the variables the expansion used),
 *           so a changed ARG misses at its first use and not before;
 *   files   for COPY/ADD from the context: a checksum per source file over
 *           path, type, mode, uid, gid, link target and content (never mtimes);
 *   platform.
 * Config-only steps (ENV, LABEL, CMD, ...) make no record: they are
 * recomputed, and they reach later keys only through what those depend on.
 *
 * Records (`key` → JSON `CacheRecord`): the resulting layer (compressed blob
 * descriptor and diffID; none for an empty change), size, the inputs. A
 * second kind of row, `slot:<hash>` → `{ key }`, remembers which key a given
 * place in a given Dockerfile had last time, so that a miss can say why
 * (`explainMiss` compares the inputs).
 *
 * GC: `prune(maxBytes)` deletes the least recently used records until the
 * sum of their sizes fits; blobs no record, image or lease references are
 * then left to the engine's collectGarbage.
 */
import { createHash } from "node:crypto";
import type { Digest } from "../core/digest.ts";
import type { Descriptor } from "../core/descriptor.ts";
import type { Database } from "../state/index.ts";

export interface CacheInputs {
  readonly parent: string;
  readonly op: string;
  readonly vars: Readonly<Record<string, string>>;
  /** Names among `vars` that are build ARGs (for the miss explanation). */
  readonly argNames?: readonly string[];
  /** Per-file checksums of the step's context sources (absent above `MAX_FILES_RECORDED`: then `filesDigest` only). */
  readonly files?: Readonly<Record<string, string>>;
  readonly filesDigest?: string;
  readonly platform: string;
}

export interface CacheRecord {
  readonly layer?: Descriptor;
  readonly diffId?: Digest;
  /** Uncompressed bytes of the layer tar. */
  readonly size: number;
  readonly inputs: CacheInputs;
}

/** Above this many source files a record keeps only their combined digest. */
export const MAX_FILES_RECORDED = 2000;

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export function sha256Hex(s: string | Uint8Array): string {
  return createHash("sha256").update(s).digest("hex");
}

/** The cache key of a step: sha256 of its inputs' canonical JSON (argNames and the per-file list excluded: filesDigest covers them). */
export function cacheKey(i: CacheInputs): string {
  const { argNames: _a, files: _f, ...keyed } = i;
  return `sha256:${sha256Hex(JSON.stringify(canonical(keyed)))}`;
}

/** Combined digest of per-file checksums. */
export function filesDigest(files: Readonly<Record<string, string>>): string {
  return `sha256:${sha256Hex(JSON.stringify(canonical(files)))}`;
}

function listSome(names: string[], what: string): string {
  const shown = names.slice(0, 3).join(", ");
  return names.length > 3 ? `${shown} and ${names.length - 3} more ${what}` : `${shown} ${what}`;
}

/**
 * Why a step missed, comparing the inputs the same place had last time with
 * the current ones. The step's own inputs are compared first (a changed
 * variable, instruction or file is named even when the parent changed too);
 * then the parent, naming the root cause of the first miss below. `parentReason` is the reason the parent step missed in
 * this build (if it did); `baseKey` is the key the stage started from.
 */
export function explainMiss(prev: CacheInputs | undefined, cur: CacheInputs, o: { parentReason?: string | undefined; baseKey?: string | undefined } = {}): string {
  if (prev === undefined) return "no previous build of this step";
  if (prev.platform !== cur.platform) return `platform changed to ${cur.platform}`;
  const args = new Set(cur.argNames ?? []);
  const names = [...new Set([...Object.keys(prev.vars), ...Object.keys(cur.vars)])].sort();
  for (const n of names) {
    if (prev.vars[n] !== cur.vars[n]) return `${args.has(n) || (prev.argNames ?? []).includes(n) ? "build arg" : "env"} ${n} changed`;
  }
  if (prev.op !== cur.op) return "instruction changed";
  if (prev.parent !== cur.parent) {
    if (cur.parent === o.baseKey) return "base image changed";
    if (o.parentReason === undefined) return "parent step changed";
    // Name the root cause once, not a chain of "parent step changed".
    const root = /^parent step changed \((.*)\)$/s.exec(o.parentReason)?.[1] ?? o.parentReason;
    return root === "base image changed" ? root : `parent step changed (${root})`;
  }
  if ((prev.filesDigest ?? "") !== (cur.filesDigest ?? "")) {
    if (prev.files === undefined || cur.files === undefined) return "source files changed";
    const changed: string[] = [];
    const added: string[] = [];
    const removed: string[] = [];
    for (const [p, h] of Object.entries(cur.files)) {
      const was = prev.files[p];
      if (was === undefined) added.push(p);
      else if (was !== h) changed.push(p);
    }
    for (const p of Object.keys(prev.files)) if (cur.files[p] === undefined) removed.push(p);
    const parts: string[] = [];
    if (changed.length > 0) parts.push(listSome(changed.sort(), "changed"));
    if (added.length > 0) parts.push(listSome(added.sort(), "added"));
    if (removed.length > 0) parts.push(listSome(removed.sort(), "removed"));
    return parts.length > 0 ? parts.join("; ") : "source files changed";
  }
  return "no cache record (pruned)";
}

/** The place of a step in a build, stable across builds of the same Dockerfile in the same context. */
export function slotOf(parts: readonly (string | number)[]): string {
  return `slot:${sha256Hex(JSON.stringify(parts))}`;
}

export class BuildCache {
  readonly #db: Database;
  readonly #now: () => Date;

  constructor(db: Database, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /** The record for `key`, marking it used; undefined on a miss. */
  get(key: string): CacheRecord | undefined {
    const row = this.#db.db.prepare("SELECT value FROM build_cache WHERE key = ?").get(key) as { value: string } | undefined;
    if (row === undefined) return undefined;
    this.#db.db.prepare("UPDATE build_cache SET last_used = ? WHERE key = ?").run(this.#now().toISOString(), key);
    return JSON.parse(row.value) as CacheRecord;
  }

  /** The inputs the step at `slot` had in its last build, if any. */
  previous(slot: string): CacheInputs | undefined {
    const row = this.#db.db.prepare("SELECT value FROM build_cache WHERE key = ?").get(slot) as { value: string } | undefined;
    if (row === undefined) return undefined;
    const v = JSON.parse(row.value) as { inputs?: CacheInputs };
    return v.inputs;
  }

  /** Stores a record (idempotent) and remembers it as the slot's latest. */
  put(key: string, rec: CacheRecord, slot?: string): void {
    const now = this.#now().toISOString();
    this.#db.transaction(() => {
      this.#db.db
        .prepare("INSERT INTO build_cache (key, value, size, last_used) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET last_used = excluded.last_used")
        .run(key, JSON.stringify(rec), rec.size, now);
      if (slot !== undefined) this.remember(slot, rec.inputs);
    });
  }

  /** Records the inputs a slot had (also on a hit, so the next miss compares with the latest build). */
  remember(slot: string, inputs: CacheInputs): void {
    this.#db.db
      .prepare("INSERT INTO build_cache (key, value, size, last_used) VALUES (?, ?, 0, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, last_used = excluded.last_used")
      .run(slot, JSON.stringify({ inputs }), this.#now().toISOString());
  }

  /** Total size of the records. */
  size(): number {
    const row = this.#db.db.prepare("SELECT COALESCE(SUM(size), 0) AS s FROM build_cache").get() as { s: number };
    return row.s;
  }

  /**
   * Deletes least recently used records until their total size is at most
   * `maxBytes`; slot rows older than every remaining record go too.
   */
  prune(maxBytes: number): { removed: number; freed: number } {
    let total = this.size();
    let removed = 0;
    let freed = 0;
    if (total <= maxBytes) return { removed, freed };
    const rows = this.#db.db.prepare("SELECT key, size FROM build_cache WHERE key NOT LIKE 'slot:%' ORDER BY last_used ASC").all() as { key: string; size: number }[];
    const del = this.#db.db.prepare("DELETE FROM build_cache WHERE key = ?");
    this.#db.transaction(() => {
      for (const r of rows) {
        if (total <= maxBytes) break;
        del.run(r.key);
        total -= r.size;
        freed += r.size;
        removed++;
      }
    });
    return { removed, freed };
  }
}

/** BERTH_BUILD_CACHE_MAX (bytes, or with a k/m/g suffix); default 10 GiB. */
export function cacheMaxBytes(env: Readonly<Record<string, string | undefined>>): number {
  const v = env["BERTH_BUILD_CACHE_MAX"];
  if (v === undefined || v === "") return 10 * 1024 ** 3;
  const m = /^(\d+)\s*([kmg]?)i?b?$/i.exec(v.trim());
  if (!m) return 10 * 1024 ** 3;
  return Number(m[1]) * 1024 ** ["", "k", "m", "g"].indexOf((m[2] ?? "").toLowerCase());
}

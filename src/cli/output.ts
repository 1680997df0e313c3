/** Output helpers shared by verbs: filters, JSON as docker prints it, Go's time format. */
import { invalidParameter } from "../core/index.ts";

/** `--filter key=value` (repeatable) → { key: [values] }, as docker parses filters. */
export function parseFilters(list: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const f of list) {
    const eq = f.indexOf("=");
    if (eq <= 0) throw invalidParameter(`bad format of filter (expected name=value)`);
    const k = f.slice(0, eq).trim().toLowerCase();
    (out[k] ??= []).push(f.slice(eq + 1));
  }
  return out;
}

/** JSON with 4-space indentation, as `docker inspect` prints it. */
export function inspectJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`;
}

/** Go's time.Time String(): "2024-05-01 10:00:00 +0000 UTC". */
export function goTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

/** Output helpers shared by verbs: filters, JSON as docker prints it, Go's time format. */
import { invalidParameter } from "../core/index.ts";
import type { CliContext } from "./context.ts";
import { flagBool, flagString, type ParsedFlags } from "./flags.ts";
import { formatRows } from "./table.ts";
import { compileTemplate } from "./template.ts";

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

/**
 * A list verb's output (images, ps, history, network ls, volume ls, system df):
 * the default table, `--format` (table, json or a Go template) and `-q` as
 * docker's formatter applies them (-q shows `quietFormat`, by default the ID,
 * and is ignored when a custom --format is given).
 */
export function printList(
  ctx: CliContext,
  p: ParsedFlags,
  o: { readonly defaultTable: string; readonly headers: Record<string, string>; readonly rows: readonly object[]; readonly quietFormat?: string },
): number {
  const format = flagString(p, "format");
  ctx.io.stdout.write(
    formatRows({
      ...(format === undefined ? {} : { format }),
      defaultTable: o.defaultTable,
      headers: o.headers,
      rows: o.rows,
      quiet: flagBool(p, "quiet"),
      ...(o.quietFormat === undefined ? {} : { quietFormat: o.quietFormat }),
    }),
  );
  return 0;
}

/**
 * `version`/`info --format`: "json" prints the object as one JSON line, a Go
 * template renders it; returns false when no format was given (print the
 * verb's own text then).
 */
export function printFormatted(ctx: CliContext, format: string | undefined, value: unknown): boolean {
  if (format === undefined || format === "") return false;
  ctx.io.stdout.write(format === "json" ? `${JSON.stringify(value)}\n` : `${compileTemplate(format)(value)}\n`);
  return true;
}

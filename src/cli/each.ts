/**
 * docker's verbs over several names (rm, stop, network rm, volume rm, ...):
 * act on each, print each name that succeeded, report each failure as
 * "Error response from daemon: …", exit 1 if any failed. `concurrency` names
 * are handled at once; lines come out in argument order.
 */
import { kindOf } from "../core/index.ts";
import type { CliContext } from "./context.ts";

export interface ForEachOptions {
  /** Print each name that succeeded (default true). */
  readonly echo?: boolean;
  /** Errors that count as success (docker: start of a running container, rm -f of a missing network). */
  readonly tolerate?: (err: unknown) => boolean;
  /** Default 1. */
  readonly concurrency?: number;
}

export async function forEachName(ctx: CliContext, names: readonly string[], fn: (name: string) => Promise<void>, o: ForEachOptions = {}): Promise<number> {
  type Result = { ok: boolean; line: string; toErr: boolean };
  const settle = async (name: string): Promise<Result> => {
    const okLine = o.echo === false ? "" : `${name}\n`;
    try {
      await fn(name);
      return { ok: true, line: okLine, toErr: false };
    } catch (err) {
      if (o.tolerate?.(err) === true) return { ok: true, line: kindOf(err) === "not-modified" ? okLine : "", toErr: false };
      return { ok: false, line: `Error response from daemon: ${(err as Error).message}\n`, toErr: true };
    }
  };
  const limit = Math.max(1, o.concurrency ?? 1);
  const results: Promise<Result>[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let next = 0;
  let failed = false;
  for (let printed = 0; printed < names.length; printed++) {
    while (next < names.length && inFlight.size < limit) {
      const p = settle(names[next]!);
      results[next] = p;
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      next++;
    }
    const r = await results[printed]!;
    if (!r.ok) failed = true;
    if (r.line !== "") (r.toErr ? ctx.io.stderr : ctx.io.stdout).write(r.line);
  }
  return failed ? 1 : 0;
}

/**
 * docker's multi-container verbs: act on each argument, print it on success,
 * report each failure, exit 1 if any failed. Up to four containers are handled
 * at once (each waits mostly on runc, conmon and the CNI plugins); lines come
 * out in argument order.
 */
import { kindOf } from "../../core/index.ts";
import type { CliContext } from "../context.ts";

const CONCURRENCY = 4;

export async function forEachContainer(ctx: CliContext, names: readonly string[], fn: (name: string) => Promise<void>, o: { echo?: boolean } = {}): Promise<number> {
  const results: (Promise<{ ok: boolean; line: string; toErr: boolean }> | undefined)[] = names.map(() => undefined);
  const settle = async (name: string): Promise<{ ok: boolean; line: string; toErr: boolean }> => {
    try {
      await fn(name);
      return { ok: true, line: o.echo === false ? "" : `${name}\n`, toErr: false };
    } catch (err) {
      if (kindOf(err) === "not-modified") return { ok: true, line: o.echo === false ? "" : `${name}\n`, toErr: false };
      return { ok: false, line: `Error response from daemon: ${(err as Error).message}\n`, toErr: true };
    }
  };
  let next = 0;
  const inFlight = new Set<Promise<unknown>>();
  let failed = false;
  for (let printed = 0; printed < names.length; printed++) {
    while (next < names.length && inFlight.size < CONCURRENCY) {
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

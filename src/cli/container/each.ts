/** docker's multi-container verbs: act on each argument, print it on success, report each failure, exit 1 if any failed. */
import { kindOf } from "../../core/index.ts";
import type { CliContext } from "../context.ts";

export async function forEachContainer(ctx: CliContext, names: readonly string[], fn: (name: string) => Promise<void>, o: { echo?: boolean } = {}): Promise<number> {
  let failed = false;
  for (const name of names) {
    try {
      await fn(name);
      if (o.echo !== false) ctx.io.stdout.write(`${name}\n`);
    } catch (err) {
      if (kindOf(err) === "not-modified") {
        if (o.echo !== false) ctx.io.stdout.write(`${name}\n`);
        continue;
      }
      failed = true;
      ctx.io.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

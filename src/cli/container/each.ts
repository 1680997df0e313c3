/**
 * Container verbs over several names: up to four containers at once (each
 * waits mostly on runc, conmon and the CNI plugins); a container already in
 * the asked state counts as done, as docker prints it.
 */
import { kindOf } from "../../core/index.ts";
import type { CliContext } from "../context.ts";
import { forEachName } from "../each.ts";

export function forEachContainer(ctx: CliContext, names: readonly string[], fn: (name: string) => Promise<void>, o: { echo?: boolean } = {}): Promise<number> {
  return forEachName(ctx, names, fn, { ...o, concurrency: 4, tolerate: (err) => kindOf(err) === "not-modified" });
}

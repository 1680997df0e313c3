/** Shared by `inspect` and `<object> inspect`: a JSON array, or a Go template per object. */
import { kindOf } from "../core/index.ts";
import type { CliContext } from "./context.ts";
import { inspectJson } from "./output.ts";
import { compileTemplate } from "./template.ts";

export function writeInspected(ctx: CliContext, objects: readonly unknown[], format: string | undefined): void {
  if (format === undefined || format === "" || format === "json") {
    if (format === "json") for (const o of objects) ctx.io.stdout.write(`${JSON.stringify(o)}\n`);
    else ctx.io.stdout.write(inspectJson(objects));
    return;
  }
  const tpl = compileTemplate(format);
  for (const o of objects) ctx.io.stdout.write(`${tpl(o)}\n`);
}

/**
 * `<object> inspect NAME...`: looks each name up, prints what was found, then
 * docker's "Error: No such …" line for each one that was not; exit 1 if any
 * was missing. Errors other than not-found stop the command.
 */
export async function inspectEach(
  ctx: CliContext,
  names: readonly string[],
  lookup: (name: string) => Promise<unknown>,
  format: string | undefined,
  o: { missing?: (name: string) => string } = {},
): Promise<number> {
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const n of names) {
    try {
      found.push(await lookup(n));
    } catch (err) {
      if (kindOf(err) !== "not-found") throw err;
      errors.push(o.missing?.(n) ?? (err as Error).message);
    }
  }
  writeInspected(ctx, found, format);
  for (const e of errors) ctx.io.stderr.write(`Error: ${e}\n`);
  return errors.length > 0 ? 1 : 0;
}

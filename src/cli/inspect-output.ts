/** Shared by `inspect` and `<object> inspect`: a JSON array, or a Go template per object. */
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

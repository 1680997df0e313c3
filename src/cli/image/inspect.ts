/** `berth image inspect IMAGE...`. */
import { kindOf } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";
import { writeInspected } from "../inspect-output.ts";

export const command: Command<CliContext> = {
  name: "image inspect",
  usage: "berth image inspect [OPTIONS] IMAGE [IMAGE...]",
  summary: "Display detailed information on one or more images",
  minArgs: 1,
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const name of p.args) {
      try {
        found.push(await engine.imageInspect(name, { signal: ctx.io.signal }));
      } catch (err) {
        if (kindOf(err) !== "not-found") throw err;
        errors.push((err as Error).message);
      }
    }
    writeInspected(ctx, found, flagString(p, "format"));
    for (const e of errors) ctx.io.stderr.write(`Error: ${e}\n`);
    return errors.length > 0 ? 1 : 0;
  },
};

/** `berth image inspect IMAGE...`. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";
import { inspectEach } from "../inspect-output.ts";

export const command: Command<CliContext> = {
  name: "image inspect",
  usage: "berth image inspect [OPTIONS] IMAGE [IMAGE...]",
  summary: "Display detailed information on one or more images",
  minArgs: 1,
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return inspectEach(ctx, p.args, (n) => engine.imageInspect(n, { signal: ctx.io.signal }), flagString(p, "format"));
  },
};

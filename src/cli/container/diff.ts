/** `berth diff CONTAINER` (docker container diff): A/C/D lines. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { changeLine } from "../../engine/container-diff.ts";

export const command: Command<CliContext> = {
  name: "diff",
  usage: "berth diff CONTAINER",
  summary: "Inspect changes to files or directories on a container's filesystem",
  minArgs: 1,
  maxArgs: 1,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const changes = await engine.containerChanges(p.args[0] ?? "", { signal: ctx.io.signal });
    ctx.io.stdout.write(changes.map((c) => `${changeLine(c)}\n`).join(""));
    return 0;
  },
};

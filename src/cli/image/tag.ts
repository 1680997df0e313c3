/** `berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]` (docker image tag). */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";

export const command: Command<CliContext> = {
  name: "tag",
  usage: "berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
  summary: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
  minArgs: 2,
  maxArgs: 2,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    engine.imageTag(p.args[0]!, p.args[1]!);
    return 0;
  },
};

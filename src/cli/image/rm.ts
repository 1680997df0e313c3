/** `berth rmi` / `berth image rm` (docker image rm): every image is tried; the exit code is 1 if any failed. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "rmi",
  usage: "berth rmi [OPTIONS] IMAGE [IMAGE...]",
  summary: "Remove one or more images",
  minArgs: 1,
  flags: [
    { name: "force", short: "f", type: "bool", description: "Force removal of the image" },
    { name: "no-prune", type: "bool", description: "Do not delete untagged parents" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    let failed = false;
    for (const name of p.args) {
      try {
        const items = await engine.imageRemove(name, { force: flagBool(p, "force"), noPrune: flagBool(p, "no-prune"), signal: ctx.io.signal });
        for (const item of items) ctx.io.stdout.write("Untagged" in item ? `Untagged: ${item.Untagged}\n` : `Deleted: ${item.Deleted}\n`);
      } catch (err) {
        failed = true;
        ctx.io.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

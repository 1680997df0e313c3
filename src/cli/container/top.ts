/** `berth top CONTAINER [ps OPTIONS]` (docker container top). */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { tabwrite } from "../table.ts";

export const command: Command<CliContext> = {
  name: "top",
  usage: "berth top CONTAINER [ps OPTIONS]",
  summary: "Display the running processes of a container",
  minArgs: 1,
  interspersed: false,
  flags: [],
  async run(ctx, p) {
    const [container = "", ...psArgs] = p.args;
    const engine = await ctx.engine();
    const r = await engine.containerTop(container, { psArgs, signal: ctx.io.signal });
    // docker: tabwriter.NewWriter(out, 20, 1, 3, ' ', 0)
    ctx.io.stdout.write(tabwrite([r.Titles, ...r.Processes], { minWidth: 20, padding: 3 }));
    return 0;
  },
};

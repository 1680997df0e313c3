/** `berth container prune` (docker container prune). */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList } from "../flags.ts";
import { parseFilters } from "../output.ts";
import { confirm } from "../prompt.ts";
import { humanSize } from "../units.ts";

export const command: Command<CliContext> = {
  name: "container prune",
  usage: "berth container prune [OPTIONS]",
  summary: "Remove all stopped containers",
  maxArgs: 0,
  flags: [
    { name: "filter", type: "strings", description: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
  ],
  async run(ctx, p) {
    const filters = parseFilters(flagList(p, "filter"));
    if (!flagBool(p, "force") && !(await confirm(ctx, "WARNING! This will remove all stopped containers."))) return 0;
    const engine = await ctx.engine();
    const report = await engine.containerPrune({ filters, signal: ctx.io.signal });
    if (report.ContainersDeleted.length > 0) {
      ctx.io.stdout.write("Deleted Containers:\n");
      for (const id of report.ContainersDeleted) ctx.io.stdout.write(`${id}\n`);
      ctx.io.stdout.write("\n");
    }
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};

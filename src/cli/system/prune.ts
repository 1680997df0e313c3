/** `berth system prune`: dangling (or with -a unused) images and unreferenced content. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList } from "../flags.ts";
import { parseFilters } from "../output.ts";
import { confirm } from "../prompt.ts";
import { humanSize } from "../units.ts";
import { writeDeletedImages } from "../image/prune.ts";

export const command: Command<CliContext> = {
  name: "system prune",
  usage: "berth system prune [OPTIONS]",
  summary: "Remove unused data",
  maxArgs: 0,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Remove all unused images not just dangling ones" },
    { name: "filter", type: "strings", description: 'Provide filter values (e.g. "label=<key>=<value>")' },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
    { name: "volumes", type: "bool", description: "Prune anonymous volumes" },
  ],
  async run(ctx, p) {
    const all = flagBool(p, "all");
    const warning = `WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n  - ${all ? "all images without at least one container associated to them" : "all dangling images"}\n  - unused build cache\n`;
    if (!flagBool(p, "force") && !(await confirm(ctx, warning))) return 0;
    const engine = await ctx.engine();
    const report = await engine.imagePrune({ all, filters: parseFilters(flagList(p, "filter")), signal: ctx.io.signal });
    writeDeletedImages(ctx, report.ImagesDeleted);
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};

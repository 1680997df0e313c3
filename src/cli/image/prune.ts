/** `berth image prune` (docker image prune). */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList } from "../flags.ts";
import { parseFilters } from "../output.ts";
import { confirm } from "../prompt.ts";
import { humanSize } from "../units.ts";

export const command: Command<CliContext> = {
  name: "image prune",
  usage: "berth image prune [OPTIONS]",
  summary: "Remove unused images",
  maxArgs: 0,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Remove all unused images, not just dangling ones" },
    { name: "filter", type: "strings", description: 'Provide filter values (e.g. "until=<timestamp>")' },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
  ],
  async run(ctx, p) {
    const all = flagBool(p, "all");
    const warning = all
      ? "WARNING! This will remove all images without at least one container associated to them."
      : "WARNING! This will remove all dangling images.";
    if (!flagBool(p, "force") && !(await confirm(ctx, warning))) return 0;
    const engine = await ctx.engine();
    const report = await engine.imagePrune({ all, filters: parseFilters(flagList(p, "filter")), signal: ctx.io.signal });
    writeDeletedImages(ctx, report.ImagesDeleted);
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};

/** docker's "Deleted Images:" block of image and system prune. */
export function writeDeletedImages(ctx: CliContext, items: readonly ({ Untagged: string } | { Deleted: string })[]): void {
  if (items.length === 0) return;
  ctx.io.stdout.write("Deleted Images:\n");
  for (const item of items) ctx.io.stdout.write("Untagged" in item ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted}\n`);
  ctx.io.stdout.write("\n");
}

/**
 * `berth system prune`: stopped containers, unused networks, dangling (or with
 * -a unused) images, build cache, and with --volumes anonymous volumes — in
 * docker's order and with docker's report.
 */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList } from "../flags.ts";
import { parseFilters } from "../output.ts";
import { confirm } from "../prompt.ts";
import { humanSize } from "../units.ts";
import { writeDeletedImages } from "../image/prune.ts";

function block(ctx: CliContext, title: string, items: readonly string[]): void {
  if (items.length === 0) return;
  ctx.io.stdout.write(`${title}:\n${items.map((i) => `${i}\n`).join("")}\n`);
}

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
    const volumes = flagBool(p, "volumes");
    const warning = [
      "WARNING! This will remove:",
      "  - all stopped containers",
      "  - all networks not used by at least one container",
      ...(volumes ? ["  - all anonymous volumes not used by at least one container"] : []),
      `  - ${all ? "all images without at least one container associated to them" : "all dangling images"}`,
      `  - ${all ? "all build cache" : "unused build cache"}`,
      "",
    ].join("\n");
    if (!flagBool(p, "force") && !(await confirm(ctx, warning))) return 0;
    const engine = await ctx.engine();
    const filters = parseFilters(flagList(p, "filter"));
    const labelOnly = filters["label"] === undefined ? {} : { label: filters["label"] };
    let reclaimed = 0;
    const containers = await engine.containerPrune({ filters: { ...labelOnly, ...(filters["until"] === undefined ? {} : { until: filters["until"] }) }, signal: ctx.io.signal });
    block(ctx, "Deleted Containers", containers.ContainersDeleted);
    reclaimed += containers.SpaceReclaimed;
    const networks = await engine.networkPrune({ filters: labelOnly });
    block(ctx, "Deleted Networks", networks.NetworksDeleted);
    if (volumes) {
      const v = await engine.volumePrune({ filters: labelOnly });
      block(ctx, "Deleted Volumes", v.VolumesDeleted);
      reclaimed += v.SpaceReclaimed;
    }
    const images = await engine.imagePrune({ all, filters, signal: ctx.io.signal });
    writeDeletedImages(ctx, images.ImagesDeleted);
    reclaimed += images.SpaceReclaimed;
    const cache = await engine.builderPrune({ signal: ctx.io.signal });
    if (cache.CachesDeleted > 0) ctx.io.stdout.write(`Deleted build cache objects: ${cache.CachesDeleted}\n\n`);
    reclaimed += cache.SpaceReclaimed;
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
    return 0;
  },
};

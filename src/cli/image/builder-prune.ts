/** `berth builder prune` (docker builder prune): drops the build cache. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { confirm } from "../prompt.ts";
import { humanSize, parseBytes } from "../units.ts";

export const command: Command<CliContext> = {
  name: "builder prune",
  usage: "berth builder prune [OPTIONS]",
  summary: "Remove build cache",
  maxArgs: 0,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Remove all unused build cache, not just dangling ones" },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
    { name: "keep-storage", type: "string", description: "Amount of disk space to keep for cache" },
  ],
  async run(ctx, p) {
    if (!flagBool(p, "force") && !(await confirm(ctx, "WARNING! This will remove all dangling build cache."))) return 0;
    const engine = await ctx.engine();
    const keep = flagString(p, "keep-storage");
    const r = await engine.builderPrune({ ...(keep === undefined || keep === "" ? {} : { keepBytes: parseBytes(keep) }), signal: ctx.io.signal });
    ctx.io.stdout.write(`Total:\t${humanSize(r.SpaceReclaimed)}\n`);
    return 0;
  },
};

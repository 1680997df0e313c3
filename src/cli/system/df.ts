/** `berth system df` (docker system df). */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool } from "../flags.ts";
import { printList } from "../output.ts";
import { humanSize } from "../units.ts";

export const command: Command<CliContext> = {
  name: "system df",
  usage: "berth system df [OPTIONS]",
  summary: "Show docker disk usage",
  maxArgs: 0,
  flags: [
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "verbose", short: "v", type: "bool", description: "Show detailed information on space usage" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const du = await engine.systemDf({ signal: ctx.io.signal });
    const pct = (part: number, whole: number): string => (whole === 0 ? "" : ` (${Math.round((part / whole) * 100)}%)`);
    const imgSize = du.Images.reduce((n, i) => n + i.Size, 0);
    const imgActive = du.Images.filter((i) => i.Containers > 0);
    const imgReclaim = imgSize - imgActive.reduce((n, i) => n + i.Size, 0);
    const ctrSize = du.Containers.reduce((n, c) => n + c.SizeRw, 0);
    const ctrActive = du.Containers.filter((c) => c.State === "running");
    const ctrReclaim = du.Containers.filter((c) => c.State !== "running").reduce((n, c) => n + c.SizeRw, 0);
    const cacheSize = du.BuildCache.reduce((n, c) => n + c.Size, 0);
    const rows = [
      { Type: "Images", TotalCount: String(du.Images.length), Active: String(imgActive.length), Size: humanSize(imgSize), Reclaimable: `${humanSize(imgReclaim)}${pct(imgReclaim, imgSize)}` },
      { Type: "Containers", TotalCount: String(du.Containers.length), Active: String(ctrActive.length), Size: humanSize(ctrSize), Reclaimable: `${humanSize(ctrReclaim)}${pct(ctrReclaim, ctrSize)}` },
      { Type: "Local Volumes", TotalCount: String(du.Volumes.length), Active: "0", Size: humanSize(0), Reclaimable: humanSize(0) },
      { Type: "Build Cache", TotalCount: String(du.BuildCache.length), Active: "0", Size: humanSize(cacheSize), Reclaimable: humanSize(cacheSize) },
    ];
    if (flagBool(p, "verbose")) {
      ctx.io.stdout.write(`${JSON.stringify(du, null, 2)}\n`);
      return 0;
    }
    return printList(ctx, p, {
      defaultTable: "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
      headers: { Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE" },
      rows,
    });
  },
};

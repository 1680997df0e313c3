/** `berth history IMAGE` (docker image history). */
import { shortId } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool } from "../flags.ts";
import { goTime, printList } from "../output.ts";
import { humanSize, timeAgo } from "../units.ts";

const headers = { ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT", CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT" };

/** docker's Ellipsis: cut to n characters, the last one "…". */
function ellipsis(s: string, n: number): string {
  const chars = [...s];
  return chars.length <= n ? s : `${chars.slice(0, n - 1).join("")}…`;
}

export const command: Command<CliContext> = {
  name: "history",
  usage: "berth history [OPTIONS] IMAGE",
  summary: "Show the history of an image",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "human", short: "H", type: "bool", description: "Print sizes and dates in human readable format", default: true },
    { name: "no-trunc", type: "bool", description: "Don't truncate output" },
    { name: "quiet", short: "q", type: "bool", description: "Only show image IDs" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const items = await engine.imageHistory(p.args[0]!, { signal: ctx.io.signal });
    const noTrunc = flagBool(p, "no-trunc");
    const human = flagBool(p, "human");
    const now = engine.ctx.now();
    const rows = items.map((h) => {
      const created = new Date(h.Created * 1000);
      const createdBy = h.CreatedBy.replaceAll("\t", " ");
      return {
        ID: h.Id === "<missing>" || noTrunc ? h.Id : shortId(h.Id),
        CreatedSince: human ? timeAgo(created, now) : goTime(created),
        CreatedAt: human ? goTime(created) : created.toISOString().replace(/\.\d+Z$/, "Z"),
        CreatedBy: noTrunc ? createdBy : ellipsis(createdBy, 45),
        Size: human ? humanSize(h.Size) : String(h.Size),
        Comment: h.Comment,
      };
    });
    return printList(ctx, p, { defaultTable: "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", headers, rows });
  },
};

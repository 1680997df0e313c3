/**
 * `berth stats [OPTIONS] [CONTAINER...]` (docker container stats). With
 * --no-stream one reading is printed; otherwise a reading is printed every
 * second (the screen cleared first on a terminal) until interrupted.
 */
import type { ContainerStats } from "../../engine/container-stats.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { formatRows } from "../table.ts";
import { bytesSize, humanSize } from "../units.ts";

const DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
const HEADERS = {
  Container: "CONTAINER",
  ID: "CONTAINER ID",
  Name: "NAME",
  CPUPerc: "CPU %",
  MemUsage: "MEM USAGE / LIMIT",
  MemPerc: "MEM %",
  NetIO: "NET I/O",
  BlockIO: "BLOCK I/O",
  PIDs: "PIDS",
};

/** A row as docker's stats formatter exposes it. */
export function statsRow(s: ContainerStats, container: string) {
  const dash = !s.running;
  return {
    Container: container,
    ID: s.id.slice(0, 12),
    Name: s.name,
    CPUPerc: dash ? "--" : `${s.cpuPercent.toFixed(2)}%`,
    MemUsage: dash ? "-- / --" : `${bytesSize(s.memUsage)} / ${bytesSize(s.memLimit)}`,
    MemPerc: dash ? "--" : `${s.memPercent.toFixed(2)}%`,
    NetIO: dash ? "--" : `${humanSize(s.netRx)} / ${humanSize(s.netTx)}`,
    BlockIO: dash ? "--" : `${humanSize(s.blockRead)} / ${humanSize(s.blockWrite)}`,
    PIDs: dash ? "--" : String(s.pids),
  };
}

export const command: Command<CliContext> = {
  name: "stats",
  usage: "berth stats [OPTIONS] [CONTAINER...]",
  summary: "Display a live stream of container(s) resource usage statistics",
  flags: [
    { name: "all", short: "a", type: "bool", description: "Show all containers (default shows just running)" },
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "no-stream", type: "bool", description: "Disable streaming stats and only pull the first result" },
    { name: "no-trunc", type: "bool", description: "Do not truncate output" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const format = flagString(p, "format");
    const noTrunc = flagBool(p, "no-trunc");
    const named = p.args.length > 0;
    const once = flagBool(p, "no-stream");
    const pick = async (): Promise<string[]> => {
      if (named) return [...p.args];
      const all = await engine.containerList();
      return all.filter((c) => flagBool(p, "all") || c.state.Status === "running" || c.state.Status === "paused").map((c) => c.id);
    };
    for (;;) {
      const names = await pick();
      const stats = await engine.containerStats({ containers: names, signal: ctx.io.signal });
      const rows = stats.map((s, i) => {
        const row = statsRow(s, names[i] ?? s.id);
        return noTrunc ? { ...row, ID: s.id } : row;
      });
      const text = formatRows({ format, defaultTable: DEFAULT_TABLE, headers: HEADERS, rows });
      if (once) {
        ctx.io.stdout.write(text);
        return 0;
      }
      if (ctx.io.stdout.isTTY === true) ctx.io.stdout.write("\x1b[2J\x1b[H");
      ctx.io.stdout.write(text);
      if (ctx.io.signal.aborted) return 0;
    }
  },
};

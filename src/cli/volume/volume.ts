/** `berth volume create|ls|rm|inspect|prune` (docker volume ...). */
import { invalidParameter } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList, flagString } from "../flags.ts";
import { inspectEach } from "../inspect-output.ts";
import { forEachName } from "../each.ts";
import { parseFilters, printList } from "../output.ts";
import { confirm } from "../prompt.ts";
import { humanSize } from "../units.ts";

/** `k=v` list → object (docker's -l / -o); a bare `k` maps to "". */
export function keyValues(list: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq === 0) throw invalidParameter(`invalid argument "${item}" for "${flag}" flag: invalid key`);
    out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? "" : item.slice(eq + 1);
  }
  return out;
}

function labelsText(l: Record<string, string>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

export const create: Command<CliContext> = {
  name: "volume create",
  usage: "berth volume create [OPTIONS] [VOLUME]",
  summary: "Create a volume",
  maxArgs: 1,
  flags: [
    { name: "driver", short: "d", type: "string", description: "Specify volume driver name", default: "local" },
    { name: "label", short: "l", type: "strings", description: "Set metadata for a volume" },
    { name: "name", type: "string", description: "Specify volume name" },
    { name: "opt", short: "o", type: "strings", description: "Set driver specific options" },
  ],
  async run(ctx, p) {
    const flagName = flagString(p, "name") ?? "";
    const argName = p.args[0] ?? "";
    if (flagName !== "" && argName !== "" && flagName !== argName) {
      throw invalidParameter(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    }
    const engine = await ctx.engine();
    const v = await engine.volumeCreate({
      name: flagName || argName,
      driver: flagString(p, "driver") ?? "local",
      labels: keyValues(flagList(p, "label"), "--label"),
      options: keyValues(flagList(p, "opt"), "--opt"),
    });
    ctx.io.stdout.write(`${v.Name}\n`);
    return 0;
  },
};

export const ls: Command<CliContext> = {
  name: "volume ls",
  aliases: ["berth volume list"],
  usage: "berth volume ls [OPTIONS]",
  summary: "List volumes",
  maxArgs: 0,
  flags: [
    { name: "filter", short: "f", type: "strings", description: "Provide filter values (e.g. 'dangling=true')" },
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "quiet", short: "q", type: "bool", description: "Only display volume names" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const vols = await engine.volumeList({ filters: parseFilters(flagList(p, "filter")) });
    const rows = vols.map((v) => ({
      Name: v.Name,
      Driver: v.Driver,
      Scope: v.Scope,
      Mountpoint: v.Mountpoint,
      Labels: labelsText(v.Labels),
      Links: "N/A",
      Size: "N/A",
      CreatedAt: v.CreatedAt,
    }));
    return printList(ctx, p, {
      defaultTable: "table {{.Driver}}\t{{.Name}}",
      headers: { Name: "VOLUME NAME", Driver: "DRIVER", Scope: "SCOPE", Mountpoint: "MOUNTPOINT", Labels: "LABELS", Links: "LINKS", Size: "SIZE", CreatedAt: "CREATED" },
      rows,
      quietFormat: "{{.Name}}",
    });
  },
};

export const rm: Command<CliContext> = {
  name: "volume rm",
  aliases: ["berth volume remove"],
  usage: "berth volume rm [OPTIONS] VOLUME [VOLUME...]",
  summary: "Remove one or more volumes",
  minArgs: 1,
  flags: [{ name: "force", short: "f", type: "bool", description: "Force the removal of one or more volumes" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return forEachName(ctx, p.args, (name) => engine.volumeRemove(name, { force: flagBool(p, "force") }));
  },
};

export const inspect: Command<CliContext> = {
  name: "volume inspect",
  usage: "berth volume inspect [OPTIONS] VOLUME [VOLUME...]",
  summary: "Display detailed information on one or more volumes",
  minArgs: 1,
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return inspectEach(ctx, p.args, (name) => engine.volumeInspect(name), flagString(p, "format"), { missing: (name) => `No such volume: ${name}` });
  },
};

export const prune: Command<CliContext> = {
  name: "volume prune",
  usage: "berth volume prune [OPTIONS]",
  summary: "Remove unused local volumes",
  maxArgs: 0,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Remove all unused volumes, not just anonymous ones" },
    { name: "filter", type: "strings", description: "Provide filter values (e.g. 'label=<label>')" },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
  ],
  async run(ctx, p) {
    const all = flagBool(p, "all");
    const warning = all
      ? "WARNING! This will remove all local volumes not used by at least one container."
      : "WARNING! This will remove anonymous local volumes not used by at least one container.";
    if (!flagBool(p, "force") && !(await confirm(ctx, warning))) return 0;
    const engine = await ctx.engine();
    const report = await engine.volumePrune({ all, filters: parseFilters(flagList(p, "filter")) });
    if (report.VolumesDeleted.length > 0) {
      ctx.io.stdout.write(`Deleted Volumes:\n${report.VolumesDeleted.map((n) => `${n}\n`).join("")}\n`);
    }
    ctx.io.stdout.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    return 0;
  },
};

/** `berth ps` / `container ls` (docker container ls). */
import { invalidParameter } from "../../core/index.ts";
import type { ContainerRecord } from "../../engine/container-record.ts";
import { containerSummary, statusText } from "../../engine/container-view.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagInt, flagList, flagString } from "../flags.ts";
import { goTime, parseFilters, printList } from "../output.ts";
import { humanSize, timeAgo } from "../units.ts";
import { globMatch } from "../../engine/image-list.ts";

const headers = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Names: "NAMES",
  Labels: "LABELS",
  Mounts: "MOUNTS",
  Networks: "NETWORKS",
};

function ellipsis(s: string, n: number): string {
  const c = [...s];
  return c.length <= n ? s : `${c.slice(0, n - 1).join("")}…`;
}

/** "0.0.0.0:8080->3000/tcp, 53/udp" as docker prints Ports. */
export function portsText(rec: ContainerRecord): string {
  const s = containerSummary(rec, { statusText: "" });
  return s.Ports.map((p) => (p.PublicPort === undefined ? `${p.PrivatePort}/${p.Type}` : `${p.IP === "" || p.IP === undefined ? "0.0.0.0" : p.IP}:${p.PublicPort}->${p.PrivatePort}/${p.Type}`)).join(", ");
}

function matches(rec: ContainerRecord, filters: Record<string, string[]>, imageIdOf: (ref: string) => string | undefined): boolean {
  for (const [key, values] of Object.entries(filters)) {
    const ok = values.some((v) => {
      switch (key) {
        case "name":
          return new RegExp(v).test(rec.name);
        case "id":
          return rec.id.startsWith(v);
        case "label": {
          const eq = v.indexOf("=");
          return eq < 0 ? v in rec.config.Labels : rec.config.Labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case "status":
          if (!["created", "restarting", "running", "removing", "paused", "exited", "dead"].includes(v)) throw invalidParameter(`invalid filter 'status=${v}'`);
          return rec.state.Status === v;
        case "exited":
          return rec.state.Status === "exited" && rec.state.ExitCode === Number(v);
        case "ancestor": {
          const id = imageIdOf(v);
          return rec.config.Image === v || (id !== undefined && rec.imageId === id) || globMatch(v, rec.config.Image);
        }
        case "network":
          return rec.config.HostConfig.NetworkMode === v || v in rec.config.Networks;
        case "publish":
          return Object.keys(rec.state.Ports).some((k) => k === v || k === `${v}/tcp`) || Object.values(rec.state.Ports).flat().some((b) => b.HostPort === v.split("/")[0]);
        case "expose":
          return Object.keys(rec.config.ExposedPorts).some((k) => k === v || k === `${v}/tcp`);
        case "volume":
          return rec.config.HostConfig.Mounts.some((m) => m.Target === v || m.Source === v || m.Name === v);
        case "before":
        case "since":
          return true;
        default:
          throw invalidParameter(`invalid filter '${key}'`);
      }
    });
    if (!ok) return false;
  }
  return true;
}

export const command: Command<CliContext> = {
  name: "ps",
  usage: "berth ps [OPTIONS]",
  summary: "List containers",
  maxArgs: 0,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Show all containers (default shows just running)" },
    { name: "filter", short: "f", type: "strings", description: "Filter output based on conditions provided" },
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "last", short: "n", type: "int", description: "Show n last created containers (includes all states)", default: -1 },
    { name: "latest", short: "l", type: "bool", description: "Show the latest created container (includes all states)" },
    { name: "no-trunc", type: "bool", description: "Don't truncate output" },
    { name: "quiet", short: "q", type: "bool", description: "Only display container IDs" },
    { name: "size", short: "s", type: "bool", description: "Display total file sizes" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const filters = parseFilters(flagList(p, "filter"));
    let recs = await engine.containerList();
    const last = flagBool(p, "latest") ? 1 : (flagInt(p, "last") ?? -1);
    const all = flagBool(p, "all") || last > 0 || filters["status"] !== undefined || filters["exited"] !== undefined;
    const imageIdOf = (ref: string): string | undefined => {
      try {
        return engine.imageResolve(ref).id;
      } catch {
        return undefined;
      }
    };
    const before = filters["before"]?.[0];
    const since = filters["since"]?.[0];
    if (before !== undefined) {
      const b = await engine.containerGet(before);
      recs = recs.filter((r) => r.created < b.created);
    }
    if (since !== undefined) {
      const s = await engine.containerGet(since);
      recs = recs.filter((r) => r.created > s.created);
    }
    recs = recs.filter((r) => (all || r.state.Status === "running" || r.state.Status === "paused" || r.state.Status === "restarting") && matches(r, filters, imageIdOf));
    if (last > 0) recs = recs.slice(0, last);
    const noTrunc = flagBool(p, "no-trunc");
    // -q needs no sizes, ports or status text (docker: a custom --format wins over -q).
    if (flagBool(p, "quiet") && flagString(p, "format") === undefined) {
      for (const r of recs) ctx.io.stdout.write(`${noTrunc ? r.id : r.id.slice(0, 12)}\n`);
      return 0;
    }
    const now = engine.ctx.now();
    const size = flagBool(p, "size");
    const sizes = new Map<string, string>();
    if (size) {
      for (const r of recs) {
        const s = await engine.containerSize(r);
        sizes.set(r.id, `${humanSize(s.sizeRw)} (virtual ${humanSize(s.sizeRootFs)})`);
      }
    }
    const rows = recs.map((r) => {
      const sum = containerSummary(r, { statusText: statusText(r, now, timeAgo) });
      const image = /^sha256:/.test(r.config.Image) && !noTrunc ? r.config.Image.slice(7, 19) : r.config.Image;
      return {
        ID: noTrunc ? r.id : r.id.slice(0, 12),
        Image: image,
        Command: JSON.stringify(noTrunc ? sum.Command : ellipsis(sum.Command, 20)),
        CreatedAt: goTime(new Date(r.created)),
        RunningFor: timeAgo(new Date(r.created), now),
        Ports: portsText(r),
        State: r.state.Status,
        Status: sum.Status,
        Size: sizes.get(r.id) ?? "0B",
        Names: r.name,
        Labels: Object.entries(r.config.Labels).map(([k, v]) => `${k}=${v}`).join(","),
        Mounts: r.config.HostConfig.Mounts.map((m) => m.Name ?? m.Source).join(","),
        Networks: Object.keys(r.config.Networks).join(",") || r.config.HostConfig.NetworkMode,
      };
    });
    const defaultTable = `table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}${size ? "\t{{.Size}}" : ""}`;
    return printList(ctx, p, { defaultTable, headers, rows });
  },
};

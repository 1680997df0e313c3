/** `berth network create|ls|rm|inspect|connect|disconnect|prune` (docker network ...). */
import { kindOf, notImplemented } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList, flagString } from "../flags.ts";
import { inspectEach } from "../inspect-output.ts";
import { forEachName } from "../each.ts";
import { goTime, parseFilters, printList } from "../output.ts";
import { confirm } from "../prompt.ts";
import { keyValues } from "../volume/volume.ts";

export const create: Command<CliContext> = {
  name: "network create",
  usage: "berth network create [OPTIONS] NETWORK",
  summary: "Create a network",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "driver", short: "d", type: "string", description: "Driver to manage the Network", default: "bridge" },
    { name: "gateway", type: "strings", description: "IPv4 or IPv6 Gateway for the master subnet" },
    { name: "internal", type: "bool", description: "Restrict external access to the network" },
    { name: "label", short: "l", type: "strings", description: "Set metadata on a network" },
    { name: "opt", short: "o", type: "strings", description: "Set driver specific options" },
    { name: "subnet", type: "strings", description: "Subnet in CIDR format that represents a network segment" },
    { name: "attachable", type: "bool", description: "Enable manual container attachment" },
    { name: "ipv6", type: "bool", description: "Enable IPv6 networking" },
  ],
  async run(ctx, p) {
    const subnets = flagList(p, "subnet");
    const gateways = flagList(p, "gateway");
    if (subnets.length > 1 || gateways.length > 1) throw notImplemented("a berth network has one IPv4 subnet and gateway");
    const engine = await ctx.engine();
    const r = await engine.networkCreate({
      name: p.args[0]!,
      driver: flagString(p, "driver") ?? "bridge",
      ...(subnets[0] === undefined ? {} : { subnet: subnets[0] }),
      ...(gateways[0] === undefined ? {} : { gateway: gateways[0] }),
      internal: flagBool(p, "internal"),
      labels: keyValues(flagList(p, "label"), "--label"),
      options: keyValues(flagList(p, "opt"), "--opt"),
    });
    ctx.io.stdout.write(`${r.Id}\n`);
    return 0;
  },
};

export const ls: Command<CliContext> = {
  name: "network ls",
  aliases: ["berth network list"],
  usage: "berth network ls [OPTIONS]",
  summary: "List networks",
  maxArgs: 0,
  flags: [
    { name: "filter", short: "f", type: "strings", description: "Provide filter values (e.g. 'driver=bridge')" },
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "no-trunc", type: "bool", description: "Do not truncate the output" },
    { name: "quiet", short: "q", type: "bool", description: "Only display network IDs" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const nets = await engine.networkList({ filters: parseFilters(flagList(p, "filter")) });
    const noTrunc = flagBool(p, "no-trunc");
    const rows = nets.map((n) => ({
      ID: noTrunc ? n.Id : n.Id.slice(0, 12),
      Name: n.Name,
      Driver: n.Driver,
      Scope: n.Scope,
      IPv6: String(n.EnableIPv6),
      Internal: String(n.Internal),
      Labels: Object.entries(n.Labels).map(([k, v]) => `${k}=${v}`).join(","),
      CreatedAt: goTime(new Date(n.Created)),
    }));
    return printList(ctx, p, {
      defaultTable: "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
      headers: { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED" },
      rows,
    });
  },
};

export const rm: Command<CliContext> = {
  name: "network rm",
  aliases: ["berth network remove"],
  usage: "berth network rm NETWORK [NETWORK...]",
  summary: "Remove one or more networks",
  minArgs: 1,
  flags: [{ name: "force", short: "f", type: "bool", description: "Do not error if the network does not exist" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const force = flagBool(p, "force");
    return forEachName(ctx, p.args, (name) => engine.networkRemove(name), { tolerate: (err) => force && kindOf(err) === "not-found" });
  },
};

export const inspect: Command<CliContext> = {
  name: "network inspect",
  usage: "berth network inspect [OPTIONS] NETWORK [NETWORK...]",
  summary: "Display detailed information on one or more networks",
  minArgs: 1,
  flags: [
    { name: "format", short: "f", type: "string", description: "Format output using a custom template" },
    { name: "verbose", short: "v", type: "bool", description: "Verbose output for diagnostics" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return inspectEach(ctx, p.args, (name) => engine.networkInspect(name), flagString(p, "format"), { missing: (name) => `No such network: ${name}` });
  },
};

export const connect: Command<CliContext> = {
  name: "network connect",
  usage: "berth network connect [OPTIONS] NETWORK CONTAINER",
  summary: "Connect a container to a network",
  minArgs: 2,
  maxArgs: 2,
  flags: [
    { name: "alias", type: "strings", description: "Add network-scoped alias for the container" },
    { name: "ip", type: "string", description: "IPv4 address (e.g., 172.30.100.104)" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const ip = flagString(p, "ip");
    await engine.networkConnect({
      network: p.args[0]!,
      container: p.args[1]!,
      aliases: flagList(p, "alias"),
      ...(ip === undefined || ip === "" ? {} : { ip }),
      signal: ctx.io.signal,
    });
    return 0;
  },
};

export const disconnect: Command<CliContext> = {
  name: "network disconnect",
  usage: "berth network disconnect [OPTIONS] NETWORK CONTAINER",
  summary: "Disconnect a container from a network",
  minArgs: 2,
  maxArgs: 2,
  flags: [{ name: "force", short: "f", type: "bool", description: "Force the container to disconnect from a network" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    await engine.networkDisconnect({ network: p.args[0]!, container: p.args[1]!, force: flagBool(p, "force") });
    return 0;
  },
};

export const prune: Command<CliContext> = {
  name: "network prune",
  usage: "berth network prune [OPTIONS]",
  summary: "Remove all unused networks",
  maxArgs: 0,
  flags: [
    { name: "filter", type: "strings", description: "Provide filter values (e.g. 'label=<key>=<value>')" },
    { name: "force", short: "f", type: "bool", description: "Do not prompt for confirmation" },
  ],
  async run(ctx, p) {
    if (!flagBool(p, "force") && !(await confirm(ctx, "WARNING! This will remove all custom networks not used by at least one container."))) return 0;
    const engine = await ctx.engine();
    const r = await engine.networkPrune({ filters: parseFilters(flagList(p, "filter")) });
    if (r.NetworksDeleted.length > 0) ctx.io.stdout.write(`Deleted Networks:\n${r.NetworksDeleted.map((n) => `${n}\n`).join("")}`);
    return 0;
  },
};

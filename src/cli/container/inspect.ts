/** `berth container inspect CONTAINER...` and `berth port CONTAINER [PORT]`. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { inspectEach } from "../inspect-output.ts";

export const inspect: Command<CliContext> = {
  name: "container inspect",
  usage: "berth container inspect [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Display detailed information on one or more containers",
  minArgs: 1,
  flags: [
    { name: "format", short: "f", type: "string", description: "Format output using a custom template" },
    { name: "size", short: "s", type: "bool", description: "Display total file sizes" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const size = flagBool(p, "size");
    return inspectEach(ctx, p.args, (n) => engine.containerInspect(n, { size }), flagString(p, "format"));
  },
};

export const port: Command<CliContext> = {
  name: "port",
  usage: "berth port CONTAINER [PRIVATE_PORT[/PROTO]]",
  summary: "List port mappings or a specific mapping for the container",
  minArgs: 1,
  maxArgs: 2,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const rec = await engine.containerGet(p.args[0]!);
    const want = p.args[1];
    const key = want === undefined ? undefined : want.includes("/") ? want : `${want}/tcp`;
    const lines: string[] = [];
    for (const [k, list] of Object.entries(rec.state.Running ? rec.state.Ports : {})) {
      if (key !== undefined && k !== key) continue;
      for (const b of list) lines.push(key === undefined ? `${k} -> ${b.HostIp}:${b.HostPort}` : `${b.HostIp}:${b.HostPort}`);
    }
    if (key !== undefined && lines.length === 0) {
      ctx.io.stderr.write(`Error: No public port '${key}' published for ${p.args[0]}\n`);
      return 1;
    }
    for (const l of lines) ctx.io.stdout.write(`${l}\n`);
    return 0;
  },
};

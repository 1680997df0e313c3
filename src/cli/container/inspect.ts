/** `berth container inspect CONTAINER...` and `berth port CONTAINER [PORT]`. */
import { kindOf } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";
import { writeInspected } from "../inspect-output.ts";

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
    const found: unknown[] = [];
    const errors: string[] = [];
    for (const n of p.args) {
      try {
        found.push(await engine.containerInspect(n));
      } catch (err) {
        if (kindOf(err) !== "not-found") throw err;
        errors.push((err as Error).message);
      }
    }
    writeInspected(ctx, found, flagString(p, "format"));
    for (const e of errors) ctx.io.stderr.write(`Error: ${e}\n`);
    return errors.length > 0 ? 1 : 0;
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

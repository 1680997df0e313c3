/** `berth inspect NAME|ID...`: any object docker knows; containers first, then images (docker's order). */
import { invalidParameter, kindOf } from "../core/index.ts";
import type { Command } from "./command.ts";
import type { CliContext } from "./context.ts";
import { flagBool, flagString } from "./flags.ts";
import { writeInspected } from "./inspect-output.ts";

type Inspector = (name: string) => Promise<unknown>;

export const command: Command<CliContext> = {
  name: "inspect",
  usage: "berth inspect [OPTIONS] NAME|ID [NAME|ID...]",
  summary: "Return low-level information on Docker objects",
  minArgs: 1,
  flags: [
    { name: "format", short: "f", type: "string", description: "Format output using a custom template" },
    { name: "size", short: "s", type: "bool", description: "Display total file sizes if the type is container" },
    { name: "type", type: "string", description: "Only inspect objects of the given type" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const inspectors: Record<string, Inspector> = {
      container: (n) => engine.containerInspect(n, { size: flagBool(p, "size") }),
      image: (n) => engine.imageInspect(n, { signal: ctx.io.signal }),
      volume: (n) => engine.volumeInspect(n),
      network: (n) => engine.networkInspect(n),
    };
    const type = flagString(p, "type");
    if (type !== undefined && type !== "" && !(type in inspectors) && !["container", "volume", "network"].includes(type)) {
      throw invalidParameter(`"${type}" is not a valid value for --type`);
    }
    const order = type === undefined || type === "" ? Object.keys(inspectors) : [type];
    const found: unknown[] = [];
    const missing: string[] = [];
    for (const name of p.args) {
      let hit: unknown;
      for (const kind of order) {
        const fn = inspectors[kind];
        if (fn === undefined) continue;
        try {
          hit = await fn(name);
          break;
        } catch (err) {
          if (kindOf(err) !== "not-found") throw err;
        }
      }
      if (hit === undefined) missing.push(name);
      else found.push(hit);
    }
    writeInspected(ctx, found, flagString(p, "format"));
    for (const m of missing) ctx.io.stderr.write(`Error: No such ${type !== undefined && type !== "" ? type : "object"}: ${m}\n`);
    return missing.length > 0 ? 1 : 0;
  },
};

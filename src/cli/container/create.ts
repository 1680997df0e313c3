/** `berth create [OPTIONS] IMAGE [COMMAND] [ARG...]`: prints the new container's ID. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { createFlags, createOptions } from "./create-flags.ts";
import { ensureImageForRun } from "./ensure-image.ts";
import { runErrorCode } from "./run.ts";

export const command: Command<CliContext> = {
  name: "create",
  usage: "berth create [OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary: "Create a new container",
  interspersed: false,
  minArgs: 1,
  flags: [...createFlags.filter((f) => f.name !== "detach"), { name: "cidfile", type: "string", description: "Write the container ID to the file" }],
  errorExitCode: runErrorCode,
  async run(ctx, p) {
    const opts = createOptions(p, ctx.io.env);
    const engine = await ctx.engine();
    await ensureImageForRun(ctx, engine, opts.image, flagString(p, "pull") ?? "missing", flagBool(p, "quiet"));
    const { Id } = await engine.containerCreate({ ...opts, signal: ctx.io.signal });
    const cidfile = flagString(p, "cidfile");
    if (cidfile !== undefined && cidfile !== "") (await import("node:fs")).writeFileSync(cidfile, Id, { flag: "wx" });
    ctx.io.stdout.write(`${Id}\n`);
    return 0;
  },
};

/** `berth load [-i file] [-q]` (docker image load). */
import { createReadStream } from "node:fs";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "load",
  usage: "berth load [OPTIONS]",
  summary: "Load an image from a tar archive or STDIN",
  maxArgs: 0,
  flags: [
    { name: "input", short: "i", type: "string", description: "Read from tar archive file, instead of STDIN" },
    { name: "quiet", short: "q", type: "bool", description: "Suppress the load output" },
  ],
  async run(ctx, p) {
    const input = flagString(p, "input");
    if ((input === undefined || input === "") && ctx.io.stdin.isTTY === true) {
      ctx.io.stderr.write("requested load from stdin, but stdin is empty\n");
      return 1;
    }
    const engine = await ctx.engine();
    const source = input === undefined || input === "" ? ctx.io.stdin : createReadStream(input);
    // -q silences progress; the "Loaded image" lines are printed either way, as docker does.
    const quiet = flagBool(p, "quiet") || ctx.io.stderr.isTTY !== true;
    const report = await engine.imageLoad(source, {
      signal: ctx.io.signal,
      ...(quiet ? {} : { onProgress: (msg: string) => void ctx.io.stderr.write(`${msg}\n`) }),
    });
    for (const line of report.lines) ctx.io.stdout.write(`${line}\n`);
    return 0;
  },
};

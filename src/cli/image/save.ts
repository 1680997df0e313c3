/** `berth save [-o file] IMAGE...` (docker image save). The file appears whole or not at all. */
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "save",
  usage: "berth save [OPTIONS] IMAGE [IMAGE...]",
  summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
  minArgs: 1,
  flags: [
    { name: "output", short: "o", type: "string", description: "Write to a file, instead of STDOUT" },
    { name: "platform", type: "strings", description: "Save only the given platform(s)", hidden: true },
  ],
  async run(ctx, p) {
    const output = flagString(p, "output");
    const engine = await ctx.engine();
    if (output === undefined || output === "" || output === "-") {
      if (ctx.io.stdout.isTTY === true) {
        ctx.io.stderr.write("cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
        return 1;
      }
      await engine.imageSave(p.args, ctx.io.stdout, { signal: ctx.io.signal });
      return 0;
    }
    const tmp = join(dirname(output), `.${basename(output)}.berth-tmp-${process.pid}`);
    const file = createWriteStream(tmp, { mode: 0o644 });
    try {
      await engine.imageSave(p.args, file, { signal: ctx.io.signal });
      file.end();
      await finished(file);
      await rename(tmp, output);
    } catch (err) {
      file.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
    return 0;
  },
};

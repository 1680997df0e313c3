/** `berth export [-o file] CONTAINER` (docker container export). The file appears whole or not at all. */
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "export",
  usage: "berth export [OPTIONS] CONTAINER",
  summary: "Export a container's filesystem as a tar archive",
  minArgs: 1,
  maxArgs: 1,
  flags: [{ name: "output", short: "o", type: "string", description: "Write to a file, instead of STDOUT" }],
  async run(ctx, p) {
    const output = flagString(p, "output");
    const container = p.args[0] ?? "";
    if (output === undefined || output === "" || output === "-") {
      if (ctx.io.stdout.isTTY === true) {
        ctx.io.stderr.write("cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
        return 1;
      }
      const engine = await ctx.engine();
      await engine.containerExport({ container, out: ctx.io.stdout, signal: ctx.io.signal });
      return 0;
    }
    const engine = await ctx.engine();
    const tmp = join(dirname(output), `.${basename(output)}.berth-tmp-${process.pid}`);
    const file = createWriteStream(tmp, { mode: 0o644 });
    try {
      await engine.containerExport({ container, out: file, signal: ctx.io.signal });
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

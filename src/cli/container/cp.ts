/**
 * `berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-` and
 * `berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH` (docker container cp).
 * The copy rules live in engine/container-cp.ts.
 */
import { invalidParameter } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool } from "../flags.ts";
import { humanSize } from "../units.ts";

/** docker's splitCpArg: an absolute path or one starting with "." is local; else "container:path". */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith("/")) return { container: "", path: arg };
  const i = arg.indexOf(":");
  if (i < 0 || arg.startsWith(".")) return { container: "", path: arg };
  return { container: arg.slice(0, i), path: arg.slice(i + 1) };
}

export const command: Command<CliContext> = {
  name: "cp",
  usage: "berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
  summary: "Copy files/folders between a container and the local filesystem",
  minArgs: 2,
  maxArgs: 2,
  flags: [
    { name: "archive", short: "a", type: "bool", description: "Archive mode (copy all uid/gid information)" },
    { name: "follow-link", short: "L", type: "bool", description: "Always follow symbol link in SRC_PATH" },
    { name: "quiet", short: "q", type: "bool", description: "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached" },
  ],
  async run(ctx, p) {
    const [srcArg = "", destArg = ""] = p.args;
    if (srcArg === "") throw invalidParameter("source can not be empty");
    if (destArg === "") throw invalidParameter("destination can not be empty");
    const src = splitCpArg(srcArg);
    const dest = splitCpArg(destArg);
    if (src.container !== "" && dest.container !== "") throw invalidParameter("copying between containers is not supported");
    if (src.container === "" && dest.container === "") throw invalidParameter("must specify at least one container source");
    const engine = await ctx.engine();
    const common = { followLink: flagBool(p, "follow-link"), copyOwnership: flagBool(p, "archive"), signal: ctx.io.signal };
    const quiet = flagBool(p, "quiet") || ctx.io.stderr.isTTY !== true;
    let bytes: number;
    if (src.container !== "") {
      if (dest.path === "-") {
        if (ctx.io.stdout.isTTY === true) throw invalidParameter("cannot copy to a TTY: redirect the output or use a file path");
        await engine.containerArchive({ ...common, container: src.container, containerPath: src.path, out: ctx.io.stdout });
        return 0;
      }
      bytes = await engine.containerCopyFrom({ ...common, container: src.container, containerPath: src.path, hostPath: dest.path });
    } else if (src.path === "-") {
      bytes = await engine.containerExtract({ ...common, container: dest.container, containerPath: dest.path, tar: ctx.io.stdin });
    } else {
      bytes = await engine.containerCopyTo({ ...common, container: dest.container, hostPath: src.path, containerPath: dest.path });
    }
    if (!quiet) ctx.io.stderr.write(`Successfully copied ${humanSize(bytes)} to ${destArg}\n`);
    return 0;
  },
};

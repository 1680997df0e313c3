/** `berth pull [OPTIONS] NAME[:TAG|@DIGEST]` (docker image pull). */
import { imagePull } from "../../engine/image-pull.ts";
import { parseReference, referenceString, tagNameOnly } from "../../oci/reference.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { progressSink } from "../progress/index.ts";

export const command: Command<CliContext> = {
  name: "pull",
  usage: "berth pull [OPTIONS] NAME[:TAG|@DIGEST]",
  summary: "Download an image from a registry",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "all-tags", short: "a", type: "bool", description: "Download all tagged images in the repository" },
    { name: "disable-content-trust", type: "bool", description: "Skip image verification", default: true },
    { name: "platform", type: "string", description: "Set platform if server is multi-platform capable" },
    { name: "quiet", short: "q", type: "bool", description: "Suppress verbose output" },
  ],
  async run(ctx, p) {
    const reference = p.args[0]!;
    const all = flagBool(p, "all-tags");
    const quiet = flagBool(p, "quiet");
    const platform = flagString(p, "platform") ?? ctx.io.env["DOCKER_DEFAULT_PLATFORM"];
    const ref = parseReference(reference);
    if (!all && ref.tag === undefined && ref.digest === undefined && !quiet) ctx.io.stdout.write("Using default tag: latest\n");
    const engine = await ctx.engine();
    const sink = progressSink(ctx.io.stdout, { quiet });
    try {
      const r = await imagePull(engine.ctx, {
        reference,
        allTags: all,
        ...(platform === undefined || platform === "" ? {} : { platform }),
        signal: ctx.io.signal,
        onProgress: sink.onProgress,
        env: ctx.io.env,
      });
      ctx.io.stdout.write(`${all ? r.reference : referenceString(tagNameOnly(ref))}\n`);
    } finally {
      sink.writer.done();
    }
    return 0;
  },
};

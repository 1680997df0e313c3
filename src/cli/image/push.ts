/** `berth push [OPTIONS] NAME[:TAG]` (docker image push). */
import { imagePush } from "../../engine/image-push.ts";
import { parseReference, referenceName, referenceString, tagNameOnly } from "../../oci/reference.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool } from "../flags.ts";
import { progressSink } from "../progress/index.ts";

export const command: Command<CliContext> = {
  name: "push",
  usage: "berth push [OPTIONS] NAME[:TAG]",
  summary: "Upload an image to a registry",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "all-tags", short: "a", type: "bool", description: "Push all tags of an image to the repository" },
    { name: "disable-content-trust", type: "bool", description: "Skip image signing", default: true },
    { name: "quiet", short: "q", type: "bool", description: "Suppress verbose output" },
  ],
  async run(ctx, p) {
    const reference = p.args[0]!;
    const all = flagBool(p, "all-tags");
    const quiet = flagBool(p, "quiet");
    const ref = parseReference(reference);
    if (!all && ref.tag === undefined && ref.digest === undefined && !quiet) ctx.io.stdout.write("Using default tag: latest\n");
    const engine = await ctx.engine();
    const sink = progressSink(ctx.io.stdout, { quiet });
    try {
      await imagePush(engine.ctx, { reference, allTags: all, signal: ctx.io.signal, onProgress: sink.onProgress, env: ctx.io.env });
    } finally {
      sink.writer.done();
    }
    if (quiet) ctx.io.stdout.write(`${all ? referenceName(ref) : referenceString(tagNameOnly(ref))}\n`);
    return 0;
  },
};

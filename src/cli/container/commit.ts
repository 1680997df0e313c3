/** `berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]` (docker container commit): prints the new image ID. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList, flagString } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "commit",
  usage: "berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
  summary: "Create a new image from a container's changes",
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { name: "author", short: "a", type: "string", description: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: "change", short: "c", type: "strings", description: "Apply Dockerfile instruction to the created image" },
    { name: "message", short: "m", type: "string", description: "Commit message" },
    { name: "pause", short: "p", type: "bool", description: "Pause container during commit", default: true },
  ],
  async run(ctx, p) {
    const [container = "", reference] = p.args;
    const engine = await ctx.engine();
    const author = flagString(p, "author");
    const message = flagString(p, "message");
    const r = await engine.containerCommit({
      container,
      ...(reference === undefined ? {} : { reference }),
      ...(author === undefined ? {} : { author }),
      ...(message === undefined ? {} : { message }),
      changes: flagList(p, "change"),
      pause: flagBool(p, "pause"),
      signal: ctx.io.signal,
    });
    ctx.io.stdout.write(`${r.id}\n`);
    return 0;
  },
};

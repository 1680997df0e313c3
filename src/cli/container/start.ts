/** `berth start [-a] [-i] CONTAINER...`. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { attachContainerIo } from "./attach-io.ts";
import { forEachContainer } from "./each.ts";
import { streamOutput } from "./output.ts";

export const command: Command<CliContext> = {
  name: "start",
  usage: "berth start [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Start one or more stopped containers",
  minArgs: 1,
  flags: [
    { name: "attach", short: "a", type: "bool", description: "Attach STDOUT/STDERR and forward signals" },
    { name: "interactive", short: "i", type: "bool", description: "Attach container's STDIN" },
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const attach = flagBool(p, "attach");
    const interactive = flagBool(p, "interactive");
    if (!attach && !interactive) return forEachContainer(ctx, p.args, (name) => engine.containerStart(name, { signal: ctx.io.signal }));
    if (p.args.length > 1) {
      ctx.io.stderr.write("Error: you cannot start and attach multiple containers at once\n");
      return 1;
    }
    const rec = await engine.containerGet(p.args[0]!);
    const startedAt = new Date();
    let attached: Promise<{ detached: boolean }> | undefined;
    await engine.containerStart(rec.id, {
      signal: ctx.io.signal,
      ...(interactive || rec.config.Tty
        ? {
            onCreated: async () => {
              ({ done: attached } = await attachContainerIo(engine, rec.id, ctx.io, {
                stdin: interactive,
                stdout: true,
                stderr: true,
                tty: rec.config.Tty,
                starting: true,
                ...(flagString(p, "detach-keys") === undefined ? {} : { detachKeys: flagString(p, "detach-keys")! }),
              }));
            },
          }
        : {}),
    });
    const exited = engine.containerWaitRecord(rec.id);
    if (attached !== undefined) {
      if ((await attached).detached) return 0;
    } else await streamOutput({ logPath: engine.containerLogPath(rec.id), stdout: ctx.io.stdout, stderr: ctx.io.stderr, exited, since: new Date(startedAt.getTime() - 1000) });
    return (await exited).state.ExitCode;
  },
};

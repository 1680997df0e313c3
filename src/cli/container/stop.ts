/** `berth stop`, `kill`, `restart`, `pause`, `unpause`, `rm`, `wait`, `rename`: small verbs over the engine. */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagInt, flagString } from "../flags.ts";
import { forEachContainer } from "./each.ts";

export const stop: Command<CliContext> = {
  name: "stop",
  usage: "berth stop [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Stop one or more running containers",
  minArgs: 1,
  flags: [
    { name: "signal", short: "s", type: "string", description: "Signal to send to the container" },
    { name: "time", short: "t", type: "int", description: "Seconds to wait before killing the container", aliases: ["timeout"] },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const t = flagInt(p, "time");
    const s = flagString(p, "signal");
    return forEachContainer(ctx, p.args, (n) => engine.containerStop(n, { ...(t === undefined ? {} : { timeout: t }), ...(s === undefined ? {} : { signal: s }) }));
  },
};

export const restart: Command<CliContext> = {
  ...stop,
  name: "restart",
  usage: "berth restart [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Restart one or more containers",
  async run(ctx, p) {
    const engine = await ctx.engine();
    const t = flagInt(p, "time");
    const s = flagString(p, "signal");
    return forEachContainer(ctx, p.args, (n) => engine.containerRestart(n, { ...(t === undefined ? {} : { timeout: t }), ...(s === undefined ? {} : { signal: s }) }));
  },
};

export const kill: Command<CliContext> = {
  name: "kill",
  usage: "berth kill [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Kill one or more running containers",
  minArgs: 1,
  flags: [{ name: "signal", short: "s", type: "string", description: "Signal to send to the container", default: "KILL" }],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return forEachContainer(ctx, p.args, (n) => engine.containerKill(n, { signal: flagString(p, "signal") ?? "KILL" }));
  },
};

export const pause: Command<CliContext> = {
  name: "pause",
  usage: "berth pause CONTAINER [CONTAINER...]",
  summary: "Pause all processes within one or more containers",
  minArgs: 1,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return forEachContainer(ctx, p.args, (n) => engine.containerPause(n));
  },
};

export const unpause: Command<CliContext> = {
  name: "unpause",
  usage: "berth unpause CONTAINER [CONTAINER...]",
  summary: "Unpause all processes within one or more containers",
  minArgs: 1,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return forEachContainer(ctx, p.args, (n) => engine.containerUnpause(n));
  },
};

export const rm: Command<CliContext> = {
  name: "rm",
  usage: "berth rm [OPTIONS] CONTAINER [CONTAINER...]",
  summary: "Remove one or more containers",
  minArgs: 1,
  flags: [
    { name: "force", short: "f", type: "bool", description: "Force the removal of a running container (uses SIGKILL)" },
    { name: "link", short: "l", type: "bool", description: "Remove the specified link" },
    { name: "volumes", short: "v", type: "bool", description: "Remove anonymous volumes associated with the container" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    return forEachContainer(ctx, p.args, (n) => engine.containerRemove(n, { force: flagBool(p, "force"), volumes: flagBool(p, "volumes") }));
  },
};

export const wait: Command<CliContext> = {
  name: "wait",
  usage: "berth wait CONTAINER [CONTAINER...]",
  summary: "Block until one or more containers stop, then print their exit codes",
  minArgs: 1,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    let failed = false;
    for (const n of p.args) {
      try {
        const r = await engine.containerWait(n, { signal: ctx.io.signal });
        ctx.io.stdout.write(`${r.StatusCode}\n`);
      } catch (err) {
        failed = true;
        ctx.io.stderr.write(`Error response from daemon: ${(err as Error).message}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

export const rename: Command<CliContext> = {
  name: "rename",
  usage: "berth rename CONTAINER NEW_NAME",
  summary: "Rename a container",
  minArgs: 2,
  maxArgs: 2,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    engine.containerRename(p.args[0]!, p.args[1]!);
    return 0;
  },
};

/** Hidden: what conmon runs when a container exits. */
export const cleanup: Command<CliContext> = {
  name: "container cleanup",
  usage: "berth container cleanup CONTAINER",
  summary: "Release a stopped container's resources (run by conmon on exit)",
  minArgs: 1,
  maxArgs: 1,
  flags: [],
  async run(ctx, p) {
    const engine = await ctx.engine();
    await engine.containerCleanup(p.args[0]!);
    return 0;
  },
};

/**
 * `berth run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create + start, then
 * (unless -d) stream the container's output, forward signals, wait, and exit
 * with the container's code. Engine failures exit 125, a command that cannot
 * be invoked 126, one that is not found 127 (docker's codes).
 */
import { isEngineError, kindOf } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { attachContainerIo } from "./attach-io.ts";
import { createFlags, createOptions } from "./create-flags.ts";
import { ensureImageForRun } from "./ensure-image.ts";
import { streamOutput } from "./output.ts";

export const command: Command<CliContext> = {
  name: "run",
  usage: "berth run [OPTIONS] IMAGE [COMMAND] [ARG...]",
  summary: "Create and run a new container from an image",
  interspersed: false,
  minArgs: 1,
  flags: [
    ...createFlags,
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
    { name: "sig-proxy", type: "bool", description: "Proxy received signals to the process", default: true },
    { name: "cidfile", type: "string", description: "Write the container ID to the file" },
  ],
  errorExitCode: runErrorCode,
  async run(ctx, p) {
    const opts = createOptions(p, ctx.io.env);
    const engine = await ctx.engine();
    const detach = flagBool(p, "detach");
    await ensureImageForRun(ctx, engine, opts.image, flagString(p, "pull") ?? "missing", flagBool(p, "quiet"));
    const { Id: id } = await engine.containerCreate({ ...opts, signal: ctx.io.signal });
    const cidfile = flagString(p, "cidfile");
    if (cidfile !== undefined && cidfile !== "") (await import("node:fs")).writeFileSync(cidfile, id, { flag: "wx" });
    const interactive = opts.openStdin === true || opts.tty === true;
    // docker removes a --rm container whose start failed; without --rm it stays (Created).
    const removeOnFailure = async (err: unknown): Promise<never> => {
      if (opts.autoRemove === true) await engine.containerRemove(id, { force: true }).catch(() => undefined);
      throw err;
    };
    if (detach) {
      await engine.containerStart(id, { signal: ctx.io.signal }).catch(removeOnFailure);
      ctx.io.stdout.write(`${id}\n`);
      return 0;
    }
    const attach = opts.attach ?? { stdin: false, stdout: true, stderr: true };
    let attached: Promise<{ detached: boolean }> | undefined;
    const startedAt = new Date();
    await engine.containerStart(id, {
      signal: ctx.io.signal,
      ...(interactive && (attach.stdin || opts.tty === true)
        ? {
            onCreated: async () => {
              // Connected before the process starts: no output is lost.
              ({ done: attached } = await attachContainerIo(engine, id, ctx.io, {
                stdin: attach.stdin,
                stdout: attach.stdout,
                stderr: attach.stderr,
                tty: opts.tty === true,
                starting: true,
                ...(flagString(p, "detach-keys") === undefined ? {} : { detachKeys: flagString(p, "detach-keys")! }),
              }));
            },
          }
        : {}),
    }).catch(removeOnFailure);
    // Signals reach the container (docker's --sig-proxy), not berth.
    const proxy = flagBool(p, "sig-proxy") && opts.tty !== true;
    const onAbort = (): void => {
      const reason = String((ctx.io.signal.reason as Error | undefined)?.message ?? "");
      const sig = /SIGTERM/.test(reason) ? "SIGTERM" : "SIGINT";
      if (proxy) void engine.containerKill(id, { signal: sig }).catch(() => undefined);
    };
    ctx.io.signal.addEventListener("abort", onAbort, { once: true });
    const exited = engine.containerWaitRecord(id);
    if (attached !== undefined) {
      if ((await attached).detached) {
        ctx.io.signal.removeEventListener("abort", onAbort);
        return 0; // detach keys: the container keeps running
      }
    } else {
      await streamOutput({
        logPath: engine.containerLogPath(id),
        ...(attach.stdout ? { stdout: ctx.io.stdout } : {}),
        ...(attach.stderr ? { stderr: ctx.io.stderr } : {}),
        exited,
        since: new Date(startedAt.getTime() - 1000),
      });
    }
    const final = await exited;
    ctx.io.signal.removeEventListener("abort", onAbort);
    if (opts.autoRemove === true) {
      // The teardown (CNI DEL, netns, runc delete, unmount, files) is conmon's exit
      // command's job (`berth container cleanup`), which runs anyway: doing it here
      // too only doubled it on the user's clock (~150 ms of a 0.5 s run). So, as long
      // as nothing the user can reuse at once is held, only the name is released now.
      // What is held — published host ports, volumes (a `volume rm` right after must
      // work) — is released here before returning, as docker does.
      const rec = await engine.containerGet(id).catch(() => undefined);
      const holds =
        rec !== undefined &&
        ((opts.publish ?? []).length > 0 || opts.publishAll === true || rec.config.HostConfig.Mounts.some((m) => m.Type === "volume"));
      try {
        if (holds) await engine.containerRemove(id, { force: true, volumes: true });
        else if (rec !== undefined) engine.containerRename(id, id);
      } catch (err) {
        if (kindOf(err) !== "not-found") throw err;
      }
    }
    return final.state.ExitCode;
  },
};

/** docker run's exit code for an error before the container ran. */
export function runErrorCode(err: unknown): number {
  if (isEngineError(err) && typeof err.detail?.["exitCode"] === "number") return err.detail["exitCode"] as number;
  return 125;
}

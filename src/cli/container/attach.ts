/**
 * `berth attach [OPTIONS] CONTAINER`: connect our stdin/stdout/stderr to a
 * running container. Ends with the container's exit code, or 0 when the user
 * typed the detach keys (the container keeps running). With --sig-proxy
 * (default, no TTY) SIGINT/SIGTERM go to the container; without it they detach.
 */
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { attachContainerIo } from "./attach-io.ts";

export const command: Command<CliContext> = {
  name: "attach",
  usage: "berth attach [OPTIONS] CONTAINER",
  summary: "Attach local standard input, output, and error streams to a running container",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
    { name: "no-stdin", type: "bool", description: "Do not attach STDIN" },
    { name: "sig-proxy", type: "bool", description: "Proxy all received signals to the process", default: true },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const rec = await engine.containerGet(p.args[0]!);
    const proxy = flagBool(p, "sig-proxy") && !rec.config.Tty;
    const detachOnSignal = new AbortController();
    const onAbort = (): void => {
      if (!proxy) {
        detachOnSignal.abort(ctx.io.signal.reason);
        return;
      }
      const reason = String((ctx.io.signal.reason as Error | undefined)?.message ?? "");
      void engine.containerKill(rec.id, { signal: /SIGTERM/.test(reason) ? "SIGTERM" : "SIGINT" }).catch(() => undefined);
    };
    ctx.io.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const { done } = await attachContainerIo(engine, rec.id, ctx.io, {
        stdin: !flagBool(p, "no-stdin") && rec.config.OpenStdin,
        stdout: true,
        stderr: true,
        tty: rec.config.Tty,
        signal: detachOnSignal.signal,
        ...(flagString(p, "detach-keys") === undefined ? {} : { detachKeys: flagString(p, "detach-keys")! }),
      });
      let detached: boolean;
      try {
        detached = (await done).detached;
      } catch (err) {
        if (detachOnSignal.signal.aborted) return 0;
        throw err;
      }
      if (detached) return 0;
      return (await engine.containerWaitRecord(rec.id)).state.ExitCode;
    } finally {
      ctx.io.signal.removeEventListener("abort", onAbort);
    }
  },
};

/**
 * `berth exec [OPTIONS] CONTAINER COMMAND [ARG...]`: run a process in a
 * running container; exits with its code. docker's codes: 126 when the
 * command cannot be invoked, 127 when it is not found (the error printed
 * as "OCI runtime exec failed: ..."), 1 for engine errors (no such
 * container, not running).
 */
import { PassThrough } from "node:stream";
import { isEngineError } from "../../core/index.ts";
import { attachSocket } from "../../runtime/attach.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList, flagString } from "../flags.ts";
import { detachFilter, parseDetachKeys, DEFAULT_DETACH_KEYS } from "./attach-io.ts";
import { readEnvFile } from "./create-flags.ts";

export const command: Command<CliContext> = {
  name: "exec",
  usage: "berth exec [OPTIONS] CONTAINER COMMAND [ARG...]",
  summary: "Execute a command in a running container",
  interspersed: false,
  minArgs: 2,
  flags: [
    { name: "detach", short: "d", type: "bool", description: "Detached mode: run command in the background" },
    { name: "detach-keys", type: "string", description: "Override the key sequence for detaching a container" },
    { name: "env", short: "e", type: "strings", description: "Set environment variables" },
    { name: "env-file", type: "strings", description: "Read in a file of environment variables" },
    { name: "interactive", short: "i", type: "bool", description: "Keep STDIN open even if not attached" },
    { name: "privileged", type: "bool", description: "Give extended privileges to the command" },
    { name: "tty", short: "t", type: "bool", description: "Allocate a pseudo-TTY" },
    { name: "user", short: "u", type: "string", description: "Username or UID (format: \"<name|uid>[:<group|gid>]\")" },
    { name: "workdir", short: "w", type: "string", description: "Working directory inside the container" },
  ],
  async run(ctx, p) {
    const io = ctx.io;
    const [container, ...cmd] = p.args as [string, ...string[]];
    const env = [
      ...flagList(p, "env-file").flatMap((f) => readEnvFile(f, io.env)),
      ...flagList(p, "env").map((e) => (e.includes("=") ? e : io.env[e] === undefined ? "" : `${e}=${io.env[e]}`)).filter((e) => e !== ""),
    ];
    const detach = flagBool(p, "detach");
    const tty = flagBool(p, "tty");
    const interactive = flagBool(p, "interactive") && !detach;
    const keys = parseDetachKeys(flagString(p, "detach-keys") ?? DEFAULT_DETACH_KEYS);
    const engine = await ctx.engine();
    let attach: ReturnType<typeof attachSocket> | undefined;
    let detached = false;
    const cleanups: (() => void)[] = [];
    const restore = (): void => {
      for (const c of cleanups.splice(0).reverse()) {
        try {
          c();
        } catch {
          /* terminal gone */
        }
      }
    };
    let session;
    try {
      session = await engine.containerExec(container, {
        cmd,
        env,
        tty,
        stdin: interactive,
        privileged: flagBool(p, "privileged"),
        ...(tty && (io.stdout as typeof io.stdout & { rows?: number }).isTTY === true
          ? { consoleSize: { height: (io.stdout as typeof io.stdout & { rows?: number }).rows ?? 0, width: io.stdout.columns ?? 0 } }
          : {}),
        ...(flagString(p, "user") === undefined ? {} : { user: flagString(p, "user")! }),
        ...(flagString(p, "workdir") === undefined ? {} : { workdir: flagString(p, "workdir")! }),
        signal: io.signal,
        onSession: (s) => {
          if (detach) return;
          // Started before the process, polling for conmon's socket, so that no output is missed.
          let input: Parameters<typeof attachSocket>[0]["stdin"];
          if (interactive) {
            const pass = new PassThrough();
            const filter = detachFilter(keys, () => {
              detached = true;
              attach?.detach();
            });
            const onData = (c: Buffer | string): void => {
              const b = filter(typeof c === "string" ? Buffer.from(c) : c);
              if (b.length > 0) pass.write(b);
            };
            const onEnd = (): void => void pass.end();
            io.stdin.on("data", onData);
            io.stdin.once("end", onEnd);
            cleanups.push(() => {
              io.stdin.off("data", onData);
              io.stdin.off("end", onEnd);
              io.stdin.pause();
            });
            const t = io.stdin as typeof io.stdin & { setRawMode?: (raw: boolean) => unknown };
            if (tty && t.isTTY === true && typeof t.setRawMode === "function") {
              t.setRawMode(true);
              cleanups.push(() => t.setRawMode!(false));
            }
            input = pass;
          }
          attach = attachSocket({
            socketPath: s.socketPath,
            ctlPath: s.ctlPath,
            tty,
            waitMs: 30_000,
            stdout: io.stdout,
            stderr: io.stderr,
            ...(input === undefined ? {} : { stdin: input }),
          });
        },
      });
    } catch (err) {
      attach?.detach();
      restore();
      // docker prints the runtime's own message and exits 126/127 when the command could not be started.
      if (isEngineError(err) && typeof err.detail?.["exitCode"] === "number") {
        io.stderr.write(`${err.message}\n`);
        return err.detail["exitCode"] as number;
      }
      throw err;
    }
    if (detach) return 0;
    try {
      const out = io.stdout as typeof io.stdout & { rows?: number };
      if (tty && out.isTTY === true && attach !== undefined) {
        const a = attach;
        const resize = (): void => a.resize(out.rows ?? 0, out.columns ?? 0);
        resize();
        io.stdout.on("resize", resize);
        cleanups.push(() => io.stdout.off("resize", resize));
      }
      await attach?.done;
      if (detached) return 0;
      return await session.wait();
    } finally {
      restore();
    }
  },
};

/**
 * Runs the host tools a bootstrap needs (debootstrap, chroot, tar, dpkg-query)
 * with cancellation, line-wise progress and errors classified by kind:
 * a missing tool is `not-found` ("install the debootstrap package"), a failed
 * run is `system` (with the last lines of its output), an abort is `cancelled`.
 */
import { spawn } from "node:child_process";
import { cancelled, notFound, systemError, throwIfAborted } from "../core/errors.ts";

export interface ExecOptions {
  readonly signal?: AbortSignal;
  /** Each complete line of stdout and stderr, as it arrives. */
  readonly onLine?: (line: string) => void;
  /** Signal sent on abort (debootstrap cleans its mounts up on SIGINT, not on SIGTERM). */
  readonly killSignal?: NodeJS.Signals;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Debian package that provides the tool, named in the not-found message. */
  readonly packageHint?: string;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** @throws not-found (no such program), system (non-zero exit), cancelled (signal fired). */
export function execTool(file: string, args: readonly string[], o: ExecOptions = {}): Promise<ExecResult> {
  throwIfAborted(o.signal);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...(o.env ?? process.env) } as NodeJS.ProcessEnv,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let tail: string[] = [];
    const lineSplitter = () => {
      let partial = "";
      return (chunk: Buffer) => {
        partial += chunk.toString("utf8");
        const lines = partial.split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) {
          tail.push(l);
          if (tail.length > 20) tail = tail.slice(-20);
          o.onLine?.(l);
        }
      };
    };
    const onOut = lineSplitter();
    const onErr = lineSplitter();
    child.stdout.on("data", (c: Buffer) => {
      out.push(c);
      onOut(c);
    });
    child.stderr.on("data", (c: Buffer) => {
      err.push(c);
      onErr(c);
    });
    let aborted = false;
    const onAbort = () => {
      aborted = true;
      child.kill(o.killSignal ?? "SIGTERM");
    };
    o.signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (e: NodeJS.ErrnoException) => {
      o.signal?.removeEventListener("abort", onAbort);
      if (e.code === "ENOENT") {
        const hint = o.packageHint === undefined ? "" : ` (install the Debian package ${o.packageHint})`;
        reject(notFound(`${file}: executable file not found in $PATH${hint}`, { cause: e }));
      } else reject(systemError(`${file}: ${e.message}`, { cause: e }));
    });
    child.on("close", (code, sig) => {
      o.signal?.removeEventListener("abort", onAbort);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (aborted) return reject(cancelled(`${file} cancelled`, { cause: o.signal?.reason }));
      if (code === 0) return resolve({ stdout, stderr });
      const how = sig === null ? `exit status ${code}` : `signal ${sig}`;
      reject(systemError(`${[file, ...args].join(" ")} failed (${how}):\n${tail.slice(-10).join("\n")}`));
    });
  });
}

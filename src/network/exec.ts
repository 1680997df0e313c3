/** Runs host tools (ip, iptables, CNI plugins) with captured output. */
import { spawn } from "node:child_process";
import { systemError } from "../core/errors.ts";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; input?: string; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: o.env ?? process.env, stdio: ["pipe", "pipe", "pipe"], ...(o.signal ? { signal: o.signal } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(e.name === "AbortError" ? e : systemError(`cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on("close", (code) =>
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(o.input ?? "");
  });
}

/** Like run, but a non-zero exit is a system error carrying stderr. */
export async function runOk(cmd: string, args: readonly string[], o: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, o);
  if (r.code !== 0) throw systemError(`${cmd} ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

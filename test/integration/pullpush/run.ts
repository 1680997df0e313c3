/** Runs berth (through berth-entry.ts) in a sandbox, as src/testing/cli.ts does. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { BerthResult, BerthSandbox } from "../../../src/testing/cli.ts";

const ENTRY = resolve(fileURLToPath(import.meta.url), "../berth-entry.ts");

export function berth(sb: BerthSandbox, args: readonly string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<BerthResult> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", ENTRY, ...args], {
      env: { ...sb.env, ...(o.env ?? {}) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      done({ code: code ?? -1, stdout: stdoutBytes.toString(), stderr: Buffer.concat(err).toString(), stdoutBytes });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(o.input ?? "");
  });
}

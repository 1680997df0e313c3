/**
 * Runs the real `berth` command in a child process, as a user would, against
 * a private root (BERTH_ROOT/BERTH_RUNROOT in a temp dir).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The berth command as installed: berth.mjs (stripped-TypeScript cache, then berth.ts). */
export const BERTH_ENTRY = resolve(fileURLToPath(import.meta.url), "../../bin/berth.mjs");

export interface BerthResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

export interface BerthSandbox {
  readonly root: string;
  readonly runRoot: string;
  readonly env: Record<string, string>;
  run(args: readonly string[], o?: { input?: Uint8Array | string; env?: Record<string, string>; timeoutMs?: number }): Promise<BerthResult>;
  cleanup(): void;
}

export function berthSandbox(prefix = "berth-test-"): BerthSandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const root = join(dir, "root");
  const runRoot = join(dir, "run");
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    BERTH_ROOT: root,
    BERTH_RUNROOT: runRoot,
    BERTH_CONFIG: join(dir, "config.json"),
  };
  return {
    root,
    runRoot,
    env,
    run: (args, o = {}) => runBerth(args, { env: { ...env, ...(o.env ?? {}) }, ...(o.input === undefined ? {} : { input: o.input }), ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }) }),
    cleanup: () => {
      // conmon runs `berth container cleanup` after each container exits; let
      // those finish (bounded) so nothing writes into the tree while it goes.
      const deadline = Date.now() + 15_000;
      while (processesUsing(dir).length > 0 && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
    },
  };
}

/** PIDs of processes whose command line or environment mentions `path` (conmon monitors, the cleanup commands they run). */
export function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(path) || readFileSync(`/proc/${entry}/environ`, "utf8").includes(path)) {
        out.push(Number(entry));
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

export function runBerth(
  args: readonly string[],
  o: { env: Record<string, string>; input?: Uint8Array | string; timeoutMs?: number },
): Promise<BerthResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", BERTH_ENTRY, ...args], {
      env: o.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolvePromise({ code: code ?? (signal === null ? -1 : 128), stdout: stdoutBytes.toString(), stderr: Buffer.concat(err).toString(), stdoutBytes });
    });
    child.stdin.on("error", () => {});
    if (o.input !== undefined) child.stdin.end(o.input);
    else child.stdin.end();
  });
}

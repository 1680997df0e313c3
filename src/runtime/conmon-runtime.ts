/**
 * OciRuntime over conmon + a runc-compatible runtime (runc; crun on pure
 * cgroup v2 hosts). Invocation follows podman's libpod/oci_conmon_linux.go:
 * `conmon --api-version 1 ... -l k8s-file:LOG --socket-dir-path DIR` with the
 * sync pipe `_OCI_SYNCPIPE` (fd 3) on which conmon reports `{"data": pid}`
 * after `runtime create`, or `{"data": -1, "message": "..."}` on failure;
 * for `--exec`, a second message carries the exit code.
 *
 * The runtime's own state lives under `stateRoot` (passed as `--root`, also to
 * conmon through `--runtime-arg`), so berth's containers never mix with
 * Docker's or Podman's. cgroups are managed by the runtime (cgroupfs).
 */
import { spawn, execFile } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { cancelled, conflict, invalidParameter, notFound, systemError, throwIfAborted, unavailable } from "../core/errors.ts";
import type { ExecOptions, ExecSession, ExitStatus, OciRuntime, RuntimeCreateOptions, RuntimeState } from "./oci-runtime.ts";

export interface ConmonRuntimeOptions {
  /** "runc" or "crun"; default: the binary's basename. */
  name?: string;
  /** Absolute path of the runtime binary. */
  runtimePath: string;
  /** Absolute path of conmon. */
  conmonPath: string;
  /** The runtime's state directory (`--root`), e.g. /run/berth/runc. */
  stateRoot: string;
  /** Bound on create/exec start; default 60 s. */
  timeoutMs?: number;
}

/** Name of the attach-socket link conmon makes in the socket dir (its `--cuuid`). */
const SOCKET_LINK = "ctr";

interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads newline-delimited JSON messages from conmon's sync pipe. */
class SyncReader {
  readonly #queue: SyncMessage[] = [];
  readonly #waiters: { resolve: (m: SyncMessage | undefined) => void }[] = [];
  #buf = "";
  #ended = false;

  constructor(stream: Readable) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.#buf += chunk;
      let nl: number;
      while ((nl = this.#buf.indexOf("\n")) >= 0) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (line === "") continue;
        try {
          const v = JSON.parse(line) as Record<string, unknown>;
          const data = v["data"] ?? v["pid"] ?? v["exit_code"];
          const msg: SyncMessage = { data: typeof data === "number" ? data : -1 };
          if (typeof v["message"] === "string") msg.message = v["message"];
          this.#push(msg);
        } catch {
          this.#push({ data: -1, message: `unparsable message from conmon: ${line}` });
        }
      }
    });
    const end = (): void => {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w.resolve(undefined);
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  }

  #push(m: SyncMessage): void {
    const w = this.#waiters.shift();
    if (w !== undefined) w.resolve(m);
    else this.#queue.push(m);
  }

  /** The next message, or undefined once conmon closed the pipe. */
  next(): Promise<SyncMessage | undefined> {
    const m = this.#queue.shift();
    if (m !== undefined) return Promise.resolve(m);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push({ resolve }));
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelled(`${what} cancelled`, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => reject(signal.reason instanceof Error && signal.reason.name === "TimeoutError" ? systemError(`${what} timed out`, { cause: signal.reason }) : cancelled(`${what} cancelled`, { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

async function readInt(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(path, "utf8")).trim(), 10);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export class ConmonRuntime implements OciRuntime {
  readonly name: string;
  readonly path: string;
  readonly #conmon: string;
  readonly #root: string;
  readonly #timeoutMs: number;

  constructor(o: ConmonRuntimeOptions) {
    this.path = o.runtimePath;
    this.name = o.name ?? (o.runtimePath.split("/").pop() as string);
    this.#conmon = o.conmonPath;
    this.#root = o.stateRoot;
    this.#timeoutMs = o.timeoutMs ?? 60_000;
  }

  /** Runs `<runtime> --root <stateRoot> ...args` and returns stdout. */
  #run(args: string[], signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.path, ["--root", this.#root, ...args], { maxBuffer: 16 << 20, ...(signal === undefined ? {} : { signal }) }, (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const e = err as NodeJS.ErrnoException & { code?: unknown };
        if (e.name === "AbortError") {
          reject(cancelled(`${this.name} ${args[0] ?? ""} cancelled`, { cause: err }));
          return;
        }
        if (e.code === "ENOENT") {
          reject(unavailable(`OCI runtime ${this.path} not found`, { cause: err }));
          return;
        }
        const text = runtimeMessage(stderr) || err.message;
        const id = args[args.length - 1] ?? "";
        if (/does not exist|not found|no such file or directory/i.test(stderr) && /container/i.test(stderr)) {
          reject(notFound(`No such container: ${id}`, { cause: new Error(text) }));
          return;
        }
        reject(systemError(`${this.name} ${args[0] ?? ""}: ${text}`, { cause: err }));
      });
    });
  }

  attachSocketPath(runDir: string): string {
    return join(runDir, SOCKET_LINK, "attach");
  }

  #conmonArgs(o: { id: string; name: string; bundle: string; dir: string; logPath: string; tty: boolean; stdin: boolean; leaveStdinOpen?: boolean | undefined; exitCommand?: readonly string[] | undefined }): string[] {
    const args = [
      "--api-version", "1",
      "-c", o.id,
      "-u", SOCKET_LINK,
      "-n", o.name,
      "-r", this.path,
      "-b", o.bundle,
      "-p", join(o.dir, "pidfile"),
      "-P", join(o.dir, "conmon.pid"),
      "--exit-dir", join(o.dir, "exits"),
      "--persist-dir", o.dir,
      "-l", `k8s-file:${o.logPath}`,
      "--socket-dir-path", o.dir,
      "--runtime-arg", `--root=${this.#root}`,
    ];
    // A terminal carries stdin itself; conmon's -i (a stdin pipe) would be closed
    // for good when the first attached client leaves (podman passes one or the other).
    if (o.tty) args.push("-t");
    else if (o.stdin) args.push("-i");
    if (o.leaveStdinOpen === true) args.push("--leave-stdin-open");
    const [exitCmd, ...exitArgs] = o.exitCommand ?? [];
    if (exitCmd !== undefined) {
      args.push("--exit-command", exitCmd);
      for (const a of exitArgs) args.push("--exit-command-arg", a);
    }
    return args;
  }

  /** Spawns conmon and returns its sync-pipe reader once the first-level conmon has exited. */
  async #spawnConmon(args: string[], signal: AbortSignal): Promise<{ sync: SyncReader; pipe: Readable; stderr: () => string }> {
    const child = spawn(this.#conmon, args, {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      env: { ...process.env, _OCI_SYNCPIPE: "3" },
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (d: string) => {
      if (stderr.length < 65536) stderr += d;
    });
    const pipe = child.stdio[3] as Readable;
    const sync = new SyncReader(pipe);
    const exited = new Promise<number>((resolve, reject) => {
      child.once("error", (err: NodeJS.ErrnoException) =>
        reject(err.code === "ENOENT" ? unavailable(`conmon not found at ${this.#conmon}`, { cause: err }) : systemError(`conmon: ${err.message}`, { cause: err })),
      );
      child.once("exit", (code, sig) => resolve(code ?? (sig === null ? 1 : 128)));
    });
    const code = await raceAbort(exited, signal, "conmon");
    if (code !== 0) {
      pipe.destroy();
      throw systemError(`conmon exited with status ${code}: ${stderr.trim() || "no message"}`);
    }
    return { sync, pipe, stderr: () => stderr };
  }

  async create(o: RuntimeCreateOptions): Promise<{ pid: number; monitorPid: number }> {
    throwIfAborted(o.signal);
    const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), ...(o.signal === undefined ? [] : [o.signal])]);
    await Promise.all([mkdir(join(o.runDir, "exits"), { recursive: true }), mkdir(this.#root, { recursive: true })]);
    // Stale files of a previous run would be mistaken for this one's.
    await Promise.all(["pidfile", "conmon.pid", "oom", "exit", join("exits", o.id)].map((f) => rm(join(o.runDir, f), { force: true })));
    const args = this.#conmonArgs({ id: o.id, name: o.id, bundle: o.bundle, dir: o.runDir, logPath: o.logPath, tty: o.tty, stdin: o.stdin, leaveStdinOpen: o.leaveStdinOpen, exitCommand: o.exitCommand });
    try {
      const { sync, pipe, stderr } = await this.#spawnConmon(args, signal);
      const msg = await raceAbort(sync.next(), signal, "container create");
      pipe.destroy();
      if (msg === undefined) throw systemError(`conmon closed the sync pipe without a result${stderr() ? `: ${stderr().trim()}` : ""}`);
      if (msg.data < 0) throw systemError(runtimeMessage(msg.message ?? "") || `${this.name} create failed`);
      const monitorPid = (await readInt(join(o.runDir, "conmon.pid"))) ?? 0;
      return { pid: msg.data, monitorPid };
    } catch (err) {
      if (signal.aborted) await this.#cleanupAfterAbort(o.id, o.runDir);
      throw err;
    }
  }

  async #cleanupAfterAbort(id: string, runDir: string): Promise<void> {
    const monitor = await readInt(join(runDir, "conmon.pid"));
    await this.delete(id, { force: true }).catch(() => undefined);
    if (monitor !== undefined && monitor > 0) {
      try {
        process.kill(monitor, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }

  async start(id: string, o?: { signal?: AbortSignal }): Promise<void> {
    await this.#run(["start", id], o?.signal);
  }

  async kill(id: string, signal: string | number, o?: { all?: boolean; signal?: AbortSignal }): Promise<void> {
    const sig = normalizeSignal(signal);
    await this.#run(["kill", ...(o?.all === true ? ["--all"] : []), id, sig], o?.signal);
  }

  async pause(id: string, o?: { signal?: AbortSignal }): Promise<void> {
    await this.#run(["pause", id], o?.signal);
  }

  async resume(id: string, o?: { signal?: AbortSignal }): Promise<void> {
    await this.#run(["resume", id], o?.signal);
  }

  async delete(id: string, o?: { force?: boolean; signal?: AbortSignal }): Promise<void> {
    try {
      await this.#run(["delete", ...(o?.force === true ? ["--force"] : []), id], o?.signal);
    } catch (err) {
      if ((err as { kind?: string }).kind === "not-found") return;
      throw err;
    }
  }

  async state(id: string, o?: { signal?: AbortSignal }): Promise<RuntimeState | undefined> {
    let out: string;
    try {
      out = await this.#run(["state", id], o?.signal);
    } catch (err) {
      if ((err as { kind?: string }).kind === "not-found") return undefined;
      throw err;
    }
    const v = JSON.parse(out) as { status?: string; pid?: number };
    const status = v.status;
    if (status !== "created" && status !== "running" && status !== "paused" && status !== "stopped") {
      throw systemError(`${this.name} state ${id}: unexpected status ${String(status)}`);
    }
    return { status, pid: status === "stopped" ? 0 : (v.pid ?? 0) };
  }

  async exitStatus(runDir: string, id: string): Promise<ExitStatus | undefined> {
    const file = join(runDir, "exits", id);
    let text: string;
    let at: Date;
    try {
      [text, at] = await Promise.all([readFile(file, "utf8"), stat(file).then((s) => s.mtime)]);
    } catch {
      return undefined;
    }
    const code = Number.parseInt(text.trim(), 10);
    if (!Number.isFinite(code)) return undefined; // written but not yet flushed
    const oomKilled = await stat(join(runDir, "oom")).then(() => true, () => false);
    return { code, at, oomKilled };
  }

  async exec(o: ExecOptions): Promise<ExecSession> {
    throwIfAborted(o.signal);
    const signal = AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), ...(o.signal === undefined ? [] : [o.signal])]);
    if (o.process.args.length === 0) throw invalidParameter("No exec command specified");
    await mkdir(join(o.sessionDir, "exits"), { recursive: true });
    await rm(join(o.sessionDir, "exits", o.id), { force: true });
    const specPath = join(o.sessionDir, "process.json");
    await writeFile(specPath, JSON.stringify({ ...o.process, terminal: o.tty }), { mode: 0o600 });
    const args = [
      ...this.#conmonArgs({ id: o.id, name: o.sessionId, bundle: o.sessionDir, dir: o.sessionDir, logPath: o.logPath, tty: o.tty, stdin: o.stdin }),
      "-e", "--exec-process-spec", specPath,
    ];
    const { sync, pipe, stderr } = await this.#spawnConmon(args, signal);
    const first = await raceAbort(sync.next(), signal, "exec");
    if (first === undefined) {
      pipe.destroy();
      throw systemError(`conmon closed the sync pipe without a result${stderr() ? `: ${stderr().trim()}` : ""}`);
    }
    if (first.data < 0) {
      pipe.destroy();
      const text = runtimeMessage(first.message ?? "") || `${this.name} exec failed`;
      if (/does not exist/i.test(text)) throw notFound(`No such container: ${o.id}`, { cause: new Error(text) });
      if (/not running|stopped container|paused/i.test(text)) throw conflict(`Container ${o.id} is not running`, { cause: new Error(text) });
      throw systemError(text);
    }
    // The second message (exit code) arrives when the process ends; don't let it hold the event loop.
    (pipe as Readable & { unref?: () => void }).unref?.();
    const exitMessage = sync.next();
    const exitFile = join(o.sessionDir, "exits", o.id);
    return {
      pid: first.data,
      wait: async (w) => {
        (pipe as Readable & { ref?: () => void }).ref?.();
        try {
          const m = w?.signal === undefined ? await exitMessage : await raceAbort(exitMessage, w.signal, "exec wait");
          if (m !== undefined) return m.data;
          const code = await readInt(exitFile);
          if (code !== undefined) return code;
          throw systemError(`exec session ${o.sessionId}: conmon exited without an exit code`);
        } finally {
          (pipe as Readable & { unref?: () => void }).unref?.();
        }
      },
    };
  }
}

/** runc prints `time="..." level=error msg="..."` or plain text; keep the message. */
export function runtimeMessage(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  const msgs = lines.map((l) => /msg="((?:[^"\\]|\\.)*)"/.exec(l)?.[1]?.replace(/\\"/g, '"') ?? l);
  return msgs.join("; ");
}

/** "TERM" | "SIGTERM" | "15" | 15 → what runc kill accepts ("SIGTERM" or "15"). */
export function normalizeSignal(s: string | number): string {
  if (typeof s === "number") {
    if (!Number.isInteger(s) || s <= 0 || s > 64) throw invalidParameter(`Invalid signal: ${s}`);
    return String(s);
  }
  const t = s.trim().toUpperCase();
  if (/^[0-9]+$/.test(t)) return normalizeSignal(Number(t));
  const name = t.startsWith("SIG") ? t : `SIG${t}`;
  if (!/^SIG(RTMIN|RTMAX)([+-][0-9]+)?$/.test(name) && !/^SIG[A-Z0-9]+$/.test(name)) throw invalidParameter(`Invalid signal: ${s}`);
  return name;
}

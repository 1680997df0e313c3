/**
 * `exec`: run another process in a running container through `conmon --exec`
 * (OciRuntime.exec). The process inherits the container's process spec
 * (capabilities, rlimits, no-new-privileges, AppArmor, env, user, cwd from
 * the bundle's config.json); exec options override env (merged), user, cwd,
 * terminal, and --privileged grants every capability.
 *
 * Sessions live in `<runDir>/exec/<session id>/` (process.json, conmon's
 * pidfile, exits/, ctl FIFO, attach socket, exec.log). An attached session's
 * directory is removed once the process has exited; a detached one stays
 * until the container's run directory goes.
 *
 * Attaching: the caller gets the session's socket in `onSession`, before the
 * process starts, and connects with a waiting attach (runtime/attach.ts
 * waitMs): conmon listens before it forks `runc exec`, which takes tens of ms
 * to start the process, so output is not lost in practice. conmon's
 * `--exec-attach` start pipe would make it exact (see README/report).
 */
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { conflict, invalidParameter, isEngineError, systemError, type EngineError } from "../core/index.ts";
import type { OciProcess, OciSpec } from "../runtime/index.ts";
import { computeCapabilities, mergeEnv, resolveUser } from "../runtime/index.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, containerRunDir, findContainer } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerServices } from "./services.ts";

export interface ContainerExecOptions {
  readonly cmd: readonly string[];
  /** "K=V" additions to the container's environment. */
  readonly env?: readonly string[];
  /** "user", "uid", "user:group", "uid:gid"; default: the container's user. */
  readonly user?: string;
  /** Absolute path; default: the container's working directory. */
  readonly workdir?: string;
  readonly tty?: boolean;
  /** Keep a stdin pipe open for the process (exec -i). */
  readonly stdin?: boolean;
  readonly privileged?: boolean;
  /** Initial terminal size (TTY): set by runc before the process starts (process.consoleSize). */
  readonly consoleSize?: { readonly height: number; readonly width: number };
  readonly signal?: AbortSignal;
  /** Called with the session's attach endpoints before the process starts. */
  readonly onSession?: (s: ExecSessionInfo) => void;
}

export interface ExecSessionInfo {
  readonly containerId: string;
  readonly sessionId: string;
  readonly socketPath: string;
  readonly ctlPath: string;
}

export interface ContainerExecSession extends ExecSessionInfo {
  readonly pid: number;
  /** The exit code (128+N for signal N); removes the session's files. */
  wait(o?: { signal?: AbortSignal }): Promise<number>;
}

/** Docker's code for a process that could not be started: 127 not found, 126 not executable. */
export function execFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|not an executable|exec format error|is a directory/i.test(message)) return 126;
  return 126;
}

/**
 * Starts the process; resolves once it runs.
 * @throws not-found "No such container: x"; conflict "container <id> is not running" / "... is paused, unpause the container before exec";
 *   invalid-parameter (no command, relative workdir, bad user); system "OCI runtime exec failed: ..." with detail.exitCode 126/127
 */
export async function containerExec(ctx: EngineContext, idOrName: string, o: ContainerExecOptions): Promise<ContainerExecSession> {
  if (o.cmd.length === 0) throw invalidParameter("No exec command specified");
  if (o.workdir !== undefined && o.workdir !== "" && !o.workdir.startsWith("/")) {
    throw invalidParameter(`the working directory '${o.workdir}' is invalid, it needs to be an absolute path`);
  }
  const rec = await refreshContainer(ctx, findContainer(ctx, idOrName));
  if (rec.state.Status === "paused") throw conflict(`container ${rec.id} is paused, unpause the container before exec`);
  if (rec.state.Status !== "running") throw conflict(`container ${rec.id} is not running`);
  const svc = await containerServices(ctx);
  const dir = containerDir(ctx, rec.id);
  const spec = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as OciSpec;
  const base = spec.process as OciProcess;
  let user = base.user;
  let env = [...base.env];
  if (o.user !== undefined && o.user !== "") {
    const u = await resolveUser(join(dir, "rootfs"), o.user);
    user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    env = mergeEnv(env, [`HOME=${u.home}`]);
  }
  env = mergeEnv(env, o.env ?? []);
  // All capabilities this process may grant (its bounding set; CAP_SYS_RESOURCE is outside it on some hosts).
  const bounding = svc.host.capBoundingSet;
  const caps = o.privileged === true ? computeCapabilities({ privileged: true }, svc.host.capLastCap).filter((c) => bounding === undefined || bounding.includes(c)) : undefined;
  const size = o.tty === true && o.consoleSize !== undefined && o.consoleSize.height > 0 && o.consoleSize.width > 0 ? o.consoleSize : undefined;
  const proc: OciProcess & { consoleSize?: { height: number; width: number } } = {
    ...(size === undefined ? {} : { consoleSize: { height: size.height, width: size.width } }),
    ...base,
    terminal: o.tty === true,
    args: [...o.cmd],
    env,
    cwd: o.workdir !== undefined && o.workdir !== "" ? o.workdir : base.cwd,
    user,
    ...(caps === undefined ? {} : { capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: caps } }),
  };
  const sessionId = randomBytes(6).toString("hex");
  const sessionDir = join(containerRunDir(ctx, rec.id), "exec", sessionId);
  const info: ExecSessionInfo = {
    containerId: rec.id,
    sessionId,
    socketPath: svc.runtime.attachSocketPath(sessionDir),
    ctlPath: join(sessionDir, "ctl"),
  };
  o.onSession?.(info);
  let session;
  try {
    session = await svc.runtime.exec({
      id: rec.id,
      sessionId,
      sessionDir,
      process: proc,
      logPath: join(sessionDir, "exec.log"),
      tty: o.tty === true,
      stdin: o.stdin === true,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  } catch (err) {
    await rm(sessionDir, { recursive: true, force: true }).catch(() => undefined);
    if (isEngineError(err) && err.kind !== "system") {
      if (err.kind === "conflict") throw conflict(`container ${rec.id} is not running`, { cause: err });
      throw err;
    }
    const message = (err as Error).message.replace(/^runc exec: /, "");
    throw systemError(`OCI runtime exec failed: ${message}: unknown`, { cause: err, detail: { exitCode: execFailureCode(message) } }) as EngineError;
  }
  return {
    ...info,
    pid: session.pid,
    wait: async (w) => {
      try {
        return await session.wait(w);
      } finally {
        if (w?.signal?.aborted !== true) await rm(sessionDir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
  };
}

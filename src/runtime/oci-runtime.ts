/**
 * The OCI runtime driver contract: a thin layer over conmon and a
 * runc-compatible runtime (podman libpod/oci.go). No state machine lives here:
 * the engine decides what may happen when (STYLE.md 2e-4); these methods do
 * exactly one runtime operation each and report what the runtime says.
 *
 * Glossary
 * - id: the container id, also runc's container name (unique per runtime root).
 * - bundle: directory holding config.json (see spec.ts); conmon also creates
 *   the `ctl` and `winsz` FIFOs and the `attach` socket in it.
 * - runDir: per-container directory on tmpfs (under berth's run root) for
 *   conmon's files: `pidfile` (container PID 1), `conmon.pid`, `exits/<id>`
 *   (exit code as text, mtime = exit time), `oom` (present after an OOM kill),
 *   and the attach-socket symlink `ctr/` → bundle.
 * - monitor: the conmon process, daemonised (double fork + setsid), so the
 *   container outlives every berth process.
 *
 * Lifecycle (driven by the engine)
 *   create (conmon → `runc create`; status "created", PID 1 waits on the exec FIFO)
 *   → start (`runc start`; "running") → [pause ⇄ resume] → process exits
 *   (conmon writes exits/<id>; "stopped") → delete (runc state removed).
 *   kill may be sent while created, running or paused (a paused container
 *   receives signals only after resume, except SIGKILL).
 *
 * Errors: `not-found` when the runtime has no such container, `unavailable`
 * when a binary is missing, `cancelled` on abort, `system` for any other
 * runtime failure (with runc's own message as the text).
 */
import type { OciProcess } from "./oci-spec.ts";

export interface RuntimeCreateOptions {
  id: string;
  /** Directory with config.json. */
  bundle: string;
  /** Per-container run directory (created if missing). */
  runDir: string;
  /** conmon's k8s-file log path. */
  logPath: string;
  /** Allocate a terminal (spec.process.terminal must match). */
  tty: boolean;
  /** Keep a stdin pipe open (fed through the attach socket). */
  stdin: boolean;
  /** Keep stdin open after the first attached client disconnects (docker run -i without -a). */
  leaveStdinOpen?: boolean;
  /** Bounds the whole create; the runtime is cleaned up on abort. */
  signal?: AbortSignal;
  /**
   * A command conmon runs after the container exits (its `--exit-command`):
   * the engine's cleanup, which releases the network, the mount and, for
   * `--rm`, the container itself, even when no berth process is running.
   */
  exitCommand?: readonly string[];
}

export type RuntimeStatus = "created" | "running" | "paused" | "stopped";

export interface RuntimeState {
  status: RuntimeStatus;
  /** PID 1 of the container in the host's PID namespace (0 when stopped). */
  pid: number;
}

export interface ExitStatus {
  /** Exit code; 128+N for a process killed by signal N (conmon's rule). */
  code: number;
  at: Date;
  oomKilled: boolean;
}

export interface ExecOptions {
  /** Container id. */
  id: string;
  /** Exec session id: names the session's directory and socket link. */
  sessionId: string;
  /** Directory for this session's files (process.json, pidfile, exits/, attach link); created if missing. */
  sessionDir: string;
  /** The process to run (args, env, cwd, user, capabilities, terminal). */
  process: OciProcess;
  /** conmon log path for the session's output (k8s-file). */
  logPath: string;
  tty: boolean;
  stdin: boolean;
  signal?: AbortSignal;
}

/** A running exec session. */
export interface ExecSession {
  pid: number;
  /** Resolves with the exit code when the process ends (128+N for signal N). */
  wait(o?: { signal?: AbortSignal }): Promise<number>;
}

export interface OciRuntime {
  readonly name: string;
  /** The runtime binary. */
  readonly path: string;
  /**
   * Spawns conmon, which runs `<runtime> create` and then monitors PID 1.
   * Resolves once the container exists in state "created".
   * @throws system (runtime's message), unavailable (binary missing), cancelled
   */
  create(o: RuntimeCreateOptions): Promise<{ pid: number; monitorPid: number }>;
  /** `runtime start`: lets PID 1 exec the user process. @throws not-found, system */
  start(id: string, o?: { signal?: AbortSignal }): Promise<void>;
  /** Sends a signal ("TERM", "SIGTERM", 15) to PID 1, or with all to every process. @throws not-found, invalid-parameter, system */
  kill(id: string, signal: string | number, o?: { all?: boolean; signal?: AbortSignal }): Promise<void>;
  /** Freezes every process (cgroup freezer). @throws not-found, system */
  pause(id: string, o?: { signal?: AbortSignal }): Promise<void>;
  /** @throws not-found, system */
  resume(id: string, o?: { signal?: AbortSignal }): Promise<void>;
  /** Removes the runtime's state; force kills a running container first. Idempotent: a missing container is not an error. @throws system */
  delete(id: string, o?: { force?: boolean; signal?: AbortSignal }): Promise<void>;
  /** The runtime's view, or undefined when it does not know the id. @throws system */
  state(id: string, o?: { signal?: AbortSignal }): Promise<RuntimeState | undefined>;
  /** conmon's record of PID 1's exit, or undefined if it has not exited (or no conmon ran). */
  exitStatus(runDir: string, id: string): Promise<ExitStatus | undefined>;
  /**
   * Runs a process in a running container through `conmon --exec`, which
   * monitors it, logs its output and records its exit code (in
   * `<sessionDir>/exits/<id>`). Resolves once the process has started.
   * @throws not-found (no such container), conflict (container not running), system, cancelled
   */
  exec(o: ExecOptions): Promise<ExecSession>;
  /**
   * Path of conmon's attach socket for a container (or exec session) whose
   * files live in runDir. It is a SOCK_SEQPACKET unix socket: each packet from
   * conmon is one byte of stream id (2 stdout, 3 stderr) followed by data;
   * whatever a client writes is fed to the process's stdin. Node's `net`
   * cannot open SEQPACKET sockets, so a client needs a small helper.
   * Resize/close-stdin go through the `<bundle>/ctl` FIFO ("1 <h> <w>\n", "2 0 0\n").
   */
  attachSocketPath(runDir: string): string;
}

/** Stream ids in conmon's attach framing. */
export const AttachStream = { stdin: 1, stdout: 2, stderr: 3 } as const;

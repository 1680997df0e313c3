/**
 * `attach`: connect streams to a container's process through conmon's attach
 * socket (runtime/attach.ts). Only output produced while attached is seen
 * (docker attach without --logs). `run`/`start -a` attach from start's
 * onCreated hook, before the process runs, so they miss nothing.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { conflict } from "../core/index.ts";
import { attachSocket, type AttachHandle } from "../runtime/attach.ts";
import type { EngineContext } from "./context.ts";
import { containerRunDir, findContainer } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerServices } from "./services.ts";

export interface ContainerAttachOptions {
  /** Fed to the process's stdin (ignored unless the container was created with -i). */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** Disconnects; the attach's done then rejects with cancelled. */
  readonly signal?: AbortSignal;
  /** The caller is starting the container (start's onCreated hook): skip the running check. */
  readonly starting?: boolean;
  /** Terminal size to set before returning (TTY only). */
  readonly size?: { readonly height: number; readonly width: number };
}

export interface ContainerAttachment extends AttachHandle {
  readonly id: string;
  /** The container has a TTY (output is one stream; resize applies). */
  readonly tty: boolean;
  /** stdin is connected (the container keeps stdin open). */
  readonly stdinAttached: boolean;
}

/** `stty -F /proc/<pid 1>/fd/0 rows H cols W` (TIOCSWINSZ on the container's pty); best effort. */
async function setPtySize(runDir: string, height: number, width: number): Promise<void> {
  const pid = Number.parseInt(await readFile(join(runDir, "pidfile"), "utf8").catch(() => ""), 10);
  if (!(pid > 0)) return;
  await new Promise<void>((resolve) => {
    execFile("stty", ["-F", `/proc/${pid}/fd/0`, "rows", String(Math.min(height, 1000)), "cols", String(Math.min(width, 1000))], () => resolve());
  });
}

/** Socket and ctl FIFO of a container's conmon (the `ctr` link in its run dir points at the bundle). */
export async function containerAttachPaths(ctx: EngineContext, id: string): Promise<{ socketPath: string; ctlPath: string }> {
  const runDir = containerRunDir(ctx, id);
  const svc = await containerServices(ctx);
  return { socketPath: svc.runtime.attachSocketPath(runDir), ctlPath: join(runDir, "ctr", "ctl") };
}

/**
 * Attaches to a running container (or one being started, with `starting`).
 * @throws not-found "No such container: x"; conflict when it is not running or paused (docker's messages); system when the socket cannot be reached
 */
export async function containerAttach(ctx: EngineContext, idOrName: string, o: ContainerAttachOptions = {}): Promise<ContainerAttachment> {
  const rec = o.starting === true ? findContainer(ctx, idOrName) : await refreshContainer(ctx, findContainer(ctx, idOrName));
  if (o.starting !== true) {
    if (rec.state.Status === "paused") throw conflict("You cannot attach to a paused container, unpause it first");
    if (rec.state.Status !== "running") throw conflict("You cannot attach to a stopped container, start it first");
  }
  const paths = await containerAttachPaths(ctx, rec.id);
  const stdinAttached = rec.config.OpenStdin && o.stdin !== undefined;
  const handle = attachSocket({
    ...paths,
    tty: rec.config.Tty,
    ...(stdinAttached ? { stdin: o.stdin! } : {}),
    ...(o.stdout === undefined ? {} : { stdout: o.stdout }),
    ...(o.stderr === undefined ? {} : { stderr: o.stderr }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  await handle.connected;
  if (rec.config.Tty && o.size !== undefined && o.size.height > 0 && o.size.width > 0) {
    handle.resize(o.size.height, o.size.width);
    // conmon applies ctl resizes only once its main loop has taken the console
    // from runc, which can be after the process has started and asked for its
    // size; before start, set it on the pty directly (runc init holds the slave).
    if (o.starting === true) await setPtySize(containerRunDir(ctx, rec.id), o.size.height, o.size.width);
  }
  return Object.assign(handle, { id: rec.id, tty: rec.config.Tty, stdinAttached });
}

/**
 * Client of conmon's attach socket (see OciRuntime.attachSocketPath).
 *
 * conmon's socket is SOCK_SEQPACKET, which Node cannot open, so a small Perl
 * relay (libexec/attach-bridge.pl; perl-base is Essential on Debian) connects
 * to it and talks to us over pipes: conmon's packets come out of its stdout as
 * frames `[stream id][u32 BE length][data]`, and what we write to its stdin is
 * sent to conmon, which feeds it to the process's stdin.
 *
 * Protocol facts (conmon 2.1.6, src/conn_sock.c, src/ctrl.c):
 * - each packet from conmon: 1 byte stream id (2 stdout, 3 stderr; with a TTY
 *   everything is 2) + data; conmon only sends output produced while the
 *   client is connected (no replay).
 * - stdin: conmon reads at most 32 KiB per packet; the bridge sends ≤ 8 KiB.
 * - closing stdin: shutting down the client's write side makes conmon close
 *   the process's stdin when it runs with `-i` and without
 *   `--leave-stdin-open`. Disconnecting (detach, or berth dying) does the same.
 *   The `ctl` FIFO has no close-stdin message: its "2 0 0" reopens the logs.
 * - resize: "1 <height> <width>\n" on the `ctl` FIFO (conmon rejects sizes
 *   above 1000).
 * - the socket closes when conmon exits, after the process exited and its
 *   output was drained: `done` resolves then.
 *
 * Lifecycle: attachSocket() spawns the bridge → `connected` resolves once the
 * socket is connected → output flows until conmon closes the socket (`done`
 * resolves) or detach() (`done` resolves) or the signal aborts (`done`
 * rejects with cancelled).
 */
import { spawn } from "node:child_process";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import { cancelled, systemError, unavailable } from "../core/errors.ts";

const BRIDGE = fileURLToPath(new URL("./libexec/attach-bridge.pl", import.meta.url));

export interface AttachSocketOptions {
  /** conmon's attach socket (OciRuntime.attachSocketPath). */
  readonly socketPath: string;
  /** conmon's `ctl` FIFO in the bundle (resize messages). */
  readonly ctlPath: string;
  /** Fed to the process's stdin; its end closes the process's stdin. Omit to attach output only. */
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  readonly stderr?: Writable;
  /** The process has a terminal: all output arrives as stdout. */
  readonly tty: boolean;
  /** Poll for the socket to appear for up to this many ms (exec sessions); default 0: must exist. */
  readonly waitMs?: number;
  /** Aborting disconnects; `done` then rejects with cancelled. */
  readonly signal?: AbortSignal;
  /** The perl interpreter; default "perl" from PATH. */
  readonly perl?: string;
}

export interface AttachHandle {
  /** Resolves once the socket is connected (output from then on is received). Rejects like done. */
  readonly connected: Promise<void>;
  /** Resolves when conmon closed the socket (process ended) or on detach(); rejects when the attach failed. @throws system, unavailable, cancelled */
  readonly done: Promise<void>;
  /** Sets the process's terminal size (TTY only; ignored when conmon is gone). */
  resize(height: number, width: number): void;
  /** Closes the process's stdin (after the stdin written so far). */
  closeStdin(): void;
  /** Disconnects, leaving the process running. */
  detach(): void;
}

/** Writes one control message to conmon's ctl FIFO without blocking; false when nobody reads it. */
export function writeCtl(ctlPath: string, message: string): boolean {
  let fd: number;
  try {
    fd = openSync(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return false; // ENXIO: conmon has gone; ENOENT: no such bundle
  }
  try {
    writeSync(fd, message);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Frame parser for the bridge's stdout. */
class FrameReader {
  #buf: Buffer = Buffer.alloc(0);
  readonly #onFrame: (stream: number, data: Buffer) => void;
  constructor(onFrame: (stream: number, data: Buffer) => void) {
    this.#onFrame = onFrame;
  }
  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 5) {
      const len = this.#buf.readUInt32BE(1);
      if (this.#buf.length < 5 + len) break;
      const stream = this.#buf[0]!;
      const data = this.#buf.subarray(5, 5 + len);
      this.#buf = this.#buf.subarray(5 + len);
      this.#onFrame(stream, data);
    }
  }
}

/** Connects to a conmon attach socket. @throws (through done/connected) system when the socket cannot be reached, unavailable without perl */
export function attachSocket(o: AttachSocketOptions): AttachHandle {
  const child = spawn(o.perl ?? "perl", [BRIDGE, o.socketPath, String(o.waitMs ?? 0)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderrText = "";
  let detached = false;
  let stdinClosed = false;
  let resolveConnected!: () => void;
  let rejectConnected!: (e: Error) => void;
  const connected = new Promise<void>((res, rej) => {
    resolveConnected = res;
    rejectConnected = rej;
  });
  connected.catch(() => undefined);
  const reader = new FrameReader((stream, data) => {
    if (stream === 0) {
      if (data.toString() === "connected") resolveConnected();
      return;
    }
    const out = stream === 3 && !o.tty ? o.stderr : o.stdout;
    out?.write(data);
  });
  child.stdout.on("data", (c: Buffer) => reader.push(c));
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d: string) => {
    if (stderrText.length < 4096) stderrText += d;
  });
  child.stdin.on("error", () => undefined); // EPIPE once the bridge is gone

  const onData = (chunk: Buffer | string): void => {
    if (!stdinClosed && !child.stdin.write(chunk)) {
      o.stdin?.pause();
      child.stdin.once("drain", () => o.stdin?.resume());
    }
  };
  const onEnd = (): void => handle.closeStdin();
  const unhookStdin = (): void => {
    o.stdin?.off("data", onData);
    o.stdin?.off("end", onEnd);
    o.stdin?.pause();
  };
  if (o.stdin !== undefined) {
    o.stdin.on("data", onData);
    o.stdin.once("end", onEnd);
    o.stdin.resume();
  } else {
    // Output only. Not ending the bridge's stdin: a shutdown would make conmon
    // close the process's stdin, which another client may be feeding.
    stdinClosed = true;
  }

  const onAbort = (): void => handle.detach();
  o.signal?.addEventListener("abort", onAbort, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      const e = err.code === "ENOENT" ? unavailable("perl is needed to attach to containers (perl-base)", { cause: err }) : systemError(`attach: ${err.message}`, { cause: err });
      rejectConnected(e);
      reject(e);
    });
    // "close": the bridge exited and its stdout has been read to the end.
    child.once("close", (code) => {
      unhookStdin();
      o.signal?.removeEventListener("abort", onAbort);
      if (o.signal?.aborted === true) {
        const e = cancelled("attach cancelled", { cause: o.signal.reason });
        rejectConnected(e);
        reject(e);
      } else if (detached || code === 0) {
        resolveConnected();
        resolve();
      } else {
        const e = systemError(`cannot attach to ${o.socketPath}: ${stderrText.trim().replace(/^attach-bridge: /, "") || `bridge exited with ${String(code)}`}`);
        rejectConnected(e);
        reject(e);
      }
    });
  });

  done.catch(() => undefined); // callers that only await `connected` must not leave it unhandled

  const handle: AttachHandle = {
    connected,
    done,
    resize(height, width) {
      if (!o.tty || !(height > 0 && width > 0)) return;
      writeCtl(o.ctlPath, `1 ${Math.min(1000, Math.floor(height))} ${Math.min(1000, Math.floor(width))}\n`);
    },
    closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      unhookStdin();
      child.stdin.end();
    },
    detach() {
      if (detached) return;
      detached = true;
      unhookStdin();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    },
  };
  return handle;
}

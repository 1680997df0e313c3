/**
 * The terminal side of an attach (`run -i/-t`, `start -a -i`, `attach`): our
 * stdin to the container (through docker's detach-key filter), its output to
 * our stdout/stderr, and with a TTY: raw mode on our terminal (restored on
 * every exit path) and the container's terminal size following ours.
 *
 * attachContainerIo resolves once the socket is connected (call it from
 * start's onCreated hook and await it, so the process starts only when we
 * listen); the returned `done` resolves when the container closed its streams
 * or the user typed the detach keys.
 */
import { PassThrough } from "node:stream";
import { invalidParameter } from "../../core/index.ts";
import type { Engine } from "../../engine/index.ts";
import type { CliIo } from "../command.ts";

export interface AttachOptions {
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
  /** docker's --detach-keys; default "ctrl-p,ctrl-q". "" disables detaching. */
  readonly detachKeys?: string;
  /** The container is being started by us (start's onCreated hook). */
  readonly starting?: boolean;
  /** Disconnects (attach --sig-proxy=false on SIGINT). */
  readonly signal?: AbortSignal;
}

export interface AttachResult {
  /** The user typed the detach keys: the container keeps running. */
  readonly detached: boolean;
}

export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

/**
 * docker's detach-key syntax (moby/term ToBytes): comma-separated keys, each a
 * single character or `ctrl-<a-z @ [ \ ] ^ _>`.
 * @throws invalid-parameter "Invalid detach keys (x) provided"
 */
export function parseDetachKeys(spec: string): number[] {
  if (spec === "") return [];
  const out: number[] = [];
  for (const key of spec.split(",")) {
    const k = key.trim().toLowerCase();
    if (k.length === 1) {
      out.push(key.trim().charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(k);
    const c = m?.[1];
    if (c === undefined) throw invalidParameter(`Invalid detach keys (${spec}) provided`);
    if (c >= "a" && c <= "z") out.push(c.charCodeAt(0) - 96);
    else if (c === "@") out.push(0);
    else if ("[\\]^_".includes(c)) out.push(27 + "[\\]^_".indexOf(c));
    else throw invalidParameter(`Invalid detach keys (${spec}) provided`);
  }
  return out;
}

/**
 * A filter for the detach sequence: bytes that start the sequence are held
 * back until it either completes (onDetach, the held bytes are dropped) or
 * breaks (the held bytes are passed on).
 */
export function detachFilter(keys: readonly number[], onDetach: () => void): (chunk: Buffer) => Buffer {
  let held: number[] = [];
  let fired = false;
  return (chunk) => {
    if (keys.length === 0 || fired) return fired ? Buffer.alloc(0) : chunk;
    const out: number[] = [];
    for (const b of chunk) {
      if (fired) break;
      if (b === keys[held.length]) {
        held.push(b);
        if (held.length === keys.length) {
          fired = true;
          held = [];
          onDetach();
        }
        continue;
      }
      out.push(...held);
      held = [];
      if (b === keys[0]) held.push(b);
      else out.push(b);
    }
    return Buffer.from(out);
  };
}

/** Connects our terminal to the container; resolves once connected. */
export async function attachContainerIo(engine: Engine, id: string, io: CliIo, o: AttachOptions): Promise<{ done: Promise<AttachResult> }> {
  const keys = parseDetachKeys(o.detachKeys ?? DEFAULT_DETACH_KEYS);
  let detached = false;
  let input: PassThrough | undefined;
  const cleanups: (() => void)[] = [];
  let attachment: Awaited<ReturnType<Engine["containerAttach"]>> | undefined;
  if (o.stdin) {
    input = new PassThrough();
    const filter = detachFilter(keys, () => {
      detached = true;
      attachment?.detach();
    });
    const onData = (c: Buffer | string): void => {
      const b = filter(typeof c === "string" ? Buffer.from(c) : c);
      if (b.length > 0) input!.write(b);
    };
    const onEnd = (): void => {
      input!.end();
    };
    io.stdin.on("data", onData);
    io.stdin.once("end", onEnd);
    cleanups.push(() => {
      io.stdin.off("data", onData);
      io.stdin.off("end", onEnd);
      io.stdin.pause();
    });
    const tty = io.stdin as CliIo["stdin"] & { setRawMode?: (raw: boolean) => unknown };
    if (o.tty && tty.isTTY === true && typeof tty.setRawMode === "function") {
      tty.setRawMode(true);
      cleanups.push(() => tty.setRawMode!(false));
    }
  }
  const restore = (): void => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        c();
      } catch {
        /* the terminal is gone */
      }
    }
  };
  const out = io.stdout as CliIo["stdout"] & { rows?: number };
  try {
    attachment = await engine.containerAttach(id, {
      ...(o.tty && out.isTTY === true ? { size: { height: out.rows ?? 0, width: out.columns ?? 0 } } : {}),
      ...(input === undefined ? {} : { stdin: input }),
      ...(o.stdout ? { stdout: io.stdout } : {}),
      ...(o.stderr ? { stderr: io.stderr } : {}),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
      ...(o.starting === true ? { starting: true } : {}),
    });
  } catch (err) {
    restore();
    throw err;
  }
  const a = attachment;
  if (detached) a.detach(); // the keys came before the socket was up
  if (a.tty && io.stdout.isTTY === true) {
    const resize = (): void => a.resize(out.rows ?? 0, out.columns ?? 0);
    io.stdout.on("resize", resize);
    cleanups.push(() => io.stdout.off("resize", resize));
  }
  const done = a.done.then(
    () => {
      restore();
      return { detached };
    },
    (err: unknown) => {
      restore();
      throw err;
    },
  );
  return { done };
}

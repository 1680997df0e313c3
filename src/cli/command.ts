/**
 * What every CLI verb is: a name, docker's usage line, its flags, and a `run`
 * that returns the process exit code. Verbs hold no engine logic: they parse,
 * call the engine, and print (DESIGN.md: front ends are views).
 */
import type { Readable, Writable } from "node:stream";
import type { FlagSpec, ParsedFlags } from "./flags.ts";

export interface CliIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable & { isTTY?: boolean; columns?: number };
  readonly stderr: Writable & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Fires on SIGINT/SIGTERM; every long operation takes it. */
  readonly signal: AbortSignal;
}

export interface Command<Ctx> {
  /** "images", or "image ls" for a management sub-command. */
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Docker's usage line, e.g. "docker images [OPTIONS] [REPOSITORY[:TAG]]" with berth in place of docker. */
  readonly usage: string;
  readonly summary: string;
  readonly flags: readonly FlagSpec[];
  /** false for verbs whose trailing arguments belong to a container (run, exec, create). */
  readonly interspersed?: boolean;
  readonly minArgs?: number;
  readonly maxArgs?: number;
  run(ctx: Ctx, parsed: ParsedFlags): Promise<number>;
  /**
   * The exit code for an error the verb threw (default 1). `run` and `create`
   * use 125, or 126/127 when the container's command could not be invoked,
   * and print docker's "<prog>: Error response from daemon: …" form.
   */
  readonly errorExitCode?: (err: unknown) => number;
}

/** Writes a line to a stream (a newline is added). */
export function println(out: Writable, line = ""): void {
  out.write(`${line}\n`);
}

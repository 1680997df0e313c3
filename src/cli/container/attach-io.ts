/**
 * Interactive attach (stdin and/or a TTY) to a container's conmon attach
 * socket. Placeholder until the SEQPACKET attach client lands: it refuses
 * clearly instead of pretending.
 */
import { notImplemented } from "../../core/index.ts";
import type { Engine } from "../../engine/index.ts";
import type { CliIo } from "../command.ts";

export interface AttachOptions {
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
  readonly detachKeys?: string;
}

/** Attaches the terminal to a running (or created, about to start) container; resolves when the streams close. */
export async function attachContainerIo(_engine: Engine, _id: string, _io: CliIo, _o: AttachOptions): Promise<void> {
  throw notImplemented("interactive attach (-i/-t) is not available yet");
}

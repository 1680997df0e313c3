/**
 * A container's output on the terminal of an attached `run`/`start -a`:
 * conmon writes the k8s-file log as the process runs; this follows it, stdout
 * to stdout and stderr to stderr, until the container has exited and every
 * line is out.
 */
import type { Writable } from "node:stream";
import { readLogs } from "../../runtime/index.ts";

export async function streamOutput(o: {
  logPath: string;
  stdout?: Writable;
  stderr?: Writable;
  /** Resolves when the container has exited. */
  exited: Promise<unknown>;
  /** Skip lines logged before this run (a restarted container's log has older runs). */
  since?: Date;
}): Promise<void> {
  const follow = new AbortController();
  let printed = 0;
  const write = (stream: "stdout" | "stderr", line: Buffer, complete: boolean): void => {
    const out = stream === "stdout" ? o.stdout : o.stderr;
    if (out === undefined) return;
    out.write(complete ? Buffer.concat([line, Buffer.from("\n")]) : line);
  };
  const since = o.since === undefined ? {} : { since: o.since };
  const following = (async () => {
    try {
      for await (const rec of readLogs(o.logPath, { follow: true, signal: follow.signal, ...since })) {
        if (!rec.complete) continue;
        write(rec.stream, rec.line, true);
        printed++;
      }
    } catch (err) {
      if (!follow.signal.aborted) throw err;
    }
  })();
  await o.exited.finally(() => follow.abort());
  await following;
  // What the follower had not reached when the container exited.
  let i = 0;
  for await (const rec of readLogs(o.logPath, since)) {
    if (i++ < printed && rec.complete) continue;
    write(rec.stream, rec.line, rec.complete);
  }
}

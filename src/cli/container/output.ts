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
  const finish = new AbortController();
  void o.exited.finally(() => finish.abort());
  for await (const rec of readLogs(o.logPath, { follow: true, finish: finish.signal, ...(o.since === undefined ? {} : { since: o.since }) })) {
    const out = rec.stream === "stdout" ? o.stdout : o.stderr;
    out?.write(rec.complete ? Buffer.concat([rec.line, Buffer.from("\n")]) : rec.line);
  }
}

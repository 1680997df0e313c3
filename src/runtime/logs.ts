/**
 * Reader for conmon's k8s-file log format (the CRI log format):
 *   `<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n`
 * F ends a line; P marks a partial line (conmon split a long line, or the
 * process wrote without a newline) that continues in the next record of the
 * same stream. Records are joined back into whole lines.
 */
import { open, stat } from "node:fs/promises";
import { watch as fsWatch } from "node:fs";
import type { FileHandle } from "node:fs/promises";

export interface LogRecord {
  stream: "stdout" | "stderr";
  time: Date;
  /** The RFC3339Nano time text as written (nanosecond precision). */
  timestamp: string;
  /** Line content without the trailing newline (with "<timestamp> " in front when timestamps is set). */
  line: Buffer;
  /** False when this is the last, still partial, line of a stream. */
  complete: boolean;
}

export interface ReadLogsOptions {
  /** Keep reading as the file grows, until signal aborts. */
  follow?: boolean;
  since?: Date;
  until?: Date;
  /** Only the last N lines of what exists now (then follow, if asked). */
  tail?: number;
  /** Prefix each line with its RFC3339Nano timestamp and a space (docker logs -t). */
  timestamps?: boolean;
  signal?: AbortSignal;
  /**
   * With follow: when this fires (the container has exited), read what is left
   * up to the end of the file, including a last partial line, and end. The
   * file stays open, so this works even if the log is removed meanwhile.
   */
  finish?: AbortSignal;
}

interface Parsed {
  stream: "stdout" | "stderr";
  timestamp: string;
  partial: boolean;
  text: Buffer;
}

/** Parses one record (without its newline); undefined for a malformed one. */
export function parseLogRecord(rec: Buffer): Parsed | undefined {
  const s1 = rec.indexOf(0x20);
  if (s1 < 0) return undefined;
  const s2 = rec.indexOf(0x20, s1 + 1);
  if (s2 < 0) return undefined;
  const stream = rec.subarray(s1 + 1, s2).toString();
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const s3 = rec.indexOf(0x20, s2 + 1);
  const tag = rec.subarray(s2 + 1, s3 < 0 ? rec.length : s3).toString();
  const partial = tag.split(":").includes("P");
  return { stream, timestamp: rec.subarray(0, s1).toString(), partial, text: s3 < 0 ? Buffer.alloc(0) : rec.subarray(s3 + 1) };
}

/** RFC3339Nano → Date (millisecond precision). */
export function parseLogTime(ts: string): Date {
  return new Date(ts.replace(/\.(\d{3})\d*/, ".$1"));
}

/** Joins partial records into whole lines, per stream. */
class Joiner {
  readonly #pending = new Map<string, { timestamp: string; parts: Buffer[] }>();

  push(p: Parsed): { stream: "stdout" | "stderr"; timestamp: string; line: Buffer } | undefined {
    const cur = this.#pending.get(p.stream);
    const parts = cur === undefined ? [p.text] : [...cur.parts, p.text];
    const timestamp = cur?.timestamp ?? p.timestamp;
    if (p.partial) {
      this.#pending.set(p.stream, { timestamp, parts });
      return undefined;
    }
    this.#pending.delete(p.stream);
    return { stream: p.stream, timestamp, line: Buffer.concat(parts) };
  }

  flush(): { stream: "stdout" | "stderr"; timestamp: string; line: Buffer }[] {
    const out = [...this.#pending.entries()].map(([stream, v]) => ({ stream: stream as "stdout" | "stderr", timestamp: v.timestamp, line: Buffer.concat(v.parts) }));
    this.#pending.clear();
    return out;
  }
}

async function readFrom(fh: FileHandle, offset: number): Promise<Buffer> {
  const { size } = await fh.stat();
  if (size <= offset) return Buffer.alloc(0);
  const buf = Buffer.alloc(size - offset);
  const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
  return buf.subarray(0, bytesRead);
}

/**
 * Reads a k8s-file log. Without follow it ends at the current end of file
 * (a trailing partial line is returned with complete=false). With follow it
 * waits for more until `signal` aborts (then ends normally).
 * @throws not-found style ENOENT from open when the file does not exist
 */
export async function* readLogs(path: string, o: ReadLogsOptions = {}): AsyncIterable<LogRecord> {
  const fh = await open(path, "r");
  try {
    const joiner = new Joiner();
    let offset = 0;
    let carry = Buffer.alloc(0);
    const make = (l: { stream: "stdout" | "stderr"; timestamp: string; line: Buffer }, complete: boolean): LogRecord | undefined => {
      const time = parseLogTime(l.timestamp);
      if (o.since !== undefined && time < o.since) return undefined;
      if (o.until !== undefined && time > o.until) return undefined;
      const line = o.timestamps === true ? Buffer.concat([Buffer.from(`${dockerTimestamp(l.timestamp)} `), l.line]) : l.line;
      return { stream: l.stream, time, timestamp: l.timestamp, line, complete };
    };
    const drain = async (): Promise<LogRecord[]> => {
      const chunk = await readFrom(fh, offset);
      offset += chunk.length;
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const out: LogRecord[] = [];
      let start = 0;
      let nl: number;
      while ((nl = data.indexOf(0x0a, start)) >= 0) {
        const p = parseLogRecord(data.subarray(start, nl));
        start = nl + 1;
        if (p === undefined) continue;
        const l = joiner.push(p);
        if (l === undefined) continue;
        const r = make(l, true);
        if (r !== undefined) out.push(r);
      }
      carry = Buffer.from(data.subarray(start));
      return out;
    };

    let first = await drain();
    if (o.tail !== undefined && o.tail >= 0) first = o.tail === 0 ? [] : first.slice(-o.tail);
    if (o.follow !== true) {
      for (const l of joiner.flush()) {
        const r = make(l, false);
        if (r !== undefined) first.push(r);
      }
    }
    yield* first;
    if (o.follow !== true) return;

    const signal = o.signal;
    let dirty = false;
    let wake: (() => void) | undefined;
    const watcher = fsWatch(path, () => {
      dirty = true;
      wake?.();
    });
    const onAbort = (): void => wake?.();
    const finishing = (): boolean => o.finish?.aborted === true;
    signal?.addEventListener("abort", onAbort);
    o.finish?.addEventListener("abort", onAbort);
    try {
      while (signal?.aborted !== true) {
        dirty = false;
        const size = await stat(path).then((st) => st.size, () => offset);
        if (size < offset) offset = 0; // truncated in place
        if (finishing()) {
          for (;;) {
            const before = offset;
            yield* await drain();
            if (offset === before) break;
          }
          for (const l of joiner.flush()) {
            const r = make(l, false);
            if (r !== undefined) yield r;
          }
          return;
        }
        yield* await drain();
        if (!dirty && !(signal?.aborted ?? false) && !finishing()) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      o.finish?.removeEventListener("abort", onAbort);
      watcher.close();
    }
  } finally {
    await fh.close();
  }
}

/**
 * conmon writes "2026-11-27T21:20:11.068597587+00:00"; docker prints UTC as
 * RFC 3339 with nanoseconds and "Z" ("2026-11-27T21:20:11.068597587Z").
 */
export function dockerTimestamp(ts: string): string {
  return ts.endsWith("+00:00") ? `${ts.slice(0, -6)}Z` : ts;
}

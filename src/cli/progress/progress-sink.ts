/** Adapts engine progress events (`{ id?, status, current?, total? }`) to a ProgressWriter. */
import type { Writable } from "node:stream";
import { ProgressWriter } from "./progress-writer.ts";

export interface ProgressSink {
  readonly onProgress: (e: { readonly id?: string; readonly status: string; readonly current?: number; readonly total?: number }) => void;
  readonly writer: ProgressWriter;
}

/** Events with an id update that item's line; events without one are plain lines. `quiet` drops everything. */
export function progressSink(out: Writable & { isTTY?: boolean; columns?: number }, o: { quiet?: boolean } = {}): ProgressSink {
  const writer = new ProgressWriter(out);
  return {
    writer,
    onProgress: (e) => {
      if (o.quiet) return;
      if (e.id === undefined) writer.line(e.status);
      else writer.update(e.id, e.status, e.current, e.total);
    },
  };
}

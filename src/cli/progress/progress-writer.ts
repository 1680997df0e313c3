/**
 * Docker-style progress display (docker/cli jsonmessage): one line per item
 * (a layer, a tag), rewritten in place on a terminal, e.g.
 *
 *   a1b2c3d4e5f6: Downloading [=========>                                         ]  12.3MB/45.6MB
 *
 * Elsewhere (a pipe, a file, CI logs) only state changes are written, one plain
 * line each; updates that carry byte counts (Downloading, Pushing) are dropped, as `docker pull | cat` prints them. Reusable by
 * pull, push, load and build.
 *
 * Lifecycle: create, call `update` / `line` any number of times, then `done()`;
 * after `done()` further calls are ignored.
 */
import type { Writable } from "node:stream";
import { humanSize } from "../units.ts";

export interface ProgressWriterOptions {
  /** Redraw lines in place (a terminal). Default: the stream's isTTY. */
  readonly tty?: boolean;
  /** Terminal width; the bar is drawn only above 110 columns (as docker), or when unknown. */
  readonly columns?: number;
}

/** docker's JSONProgress.String(): "[====>    ]  12.3MB/45.6MB" (bar only when the terminal is wide). */
export function formatProgress(current: number | undefined, total: number | undefined, columns?: number): string {
  if (current === undefined) return "";
  if (total === undefined || total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor((Math.floor((current / total) * 100)) / 2));
  const bar = columns === undefined || columns > 110 ? `[${"=".repeat(pct)}>${" ".repeat(Math.max(0, 50 - pct))}] ` : "";
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

export class ProgressWriter {
  readonly #out: Writable;
  readonly #tty: boolean;
  readonly #columns: number | undefined;
  /** Lines written so far (the cursor sits at the start of the line after them). */
  #lines = 0;
  /** id → its line number (tty) */
  readonly #row = new Map<string, number>();
  /** id → last status written (plain mode: state changes only) */
  readonly #last = new Map<string, string>();
  #closed = false;

  constructor(out: Writable & { isTTY?: boolean; columns?: number }, o: ProgressWriterOptions = {}) {
    this.#out = out;
    this.#tty = o.tty ?? out.isTTY === true;
    this.#columns = o.columns ?? (this.#tty ? out.columns : undefined);
  }

  /** The state of one item; `current`/`total` in bytes draw a bar on a terminal. */
  update(id: string, status: string, current?: number, total?: number): void {
    if (this.#closed) return;
    if (!this.#tty) {
      // As docker's jsonmessage: a message carrying progress is not shown off a terminal.
      if (current !== undefined || this.#last.get(id) === status) return;
      this.#last.set(id, status);
      this.#out.write(`${id}: ${status}\n`);
      return;
    }
    const progress = formatProgress(current, total, this.#columns);
    let text = `${id}: ${status}${progress === "" ? "" : ` ${progress}`}`;
    if (this.#columns !== undefined && text.length >= this.#columns) text = text.slice(0, this.#columns - 1);
    const row = this.#row.get(id);
    if (row === undefined) {
      this.#row.set(id, this.#lines);
      this.#lines++;
      this.#out.write(`\x1b[2K\r${text}\n`);
      return;
    }
    const up = this.#lines - row;
    // Up to the item's line, clear and rewrite it, then back down to the bottom.
    this.#out.write(`\x1b[${up}A\x1b[2K\r${text}\n${up > 1 ? `\x1b[${up - 1}B` : ""}\r`);
  }

  /** A message that belongs to no item ("Digest: sha256:…"). */
  line(text: string): void {
    if (this.#closed) return;
    this.#out.write(`${text}\n`);
    if (this.#tty) this.#lines++;
  }

  /** Ends the display; later calls do nothing. */
  done(): void {
    this.#closed = true;
  }
}

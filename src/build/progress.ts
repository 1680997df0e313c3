/**
 * Build progress: the events the builder emits, and BuildKit-like renderers.
 *
 * Plain (`--progress=plain`), as BuildKit prints it:
 *   #5 [3/5] COPY ./app-code /app
 *   #5 cache miss: app-code/server.js changed
 *   #5 DONE 0.1s
 *
 *   #6 [4/5] RUN npm install
 *   #6 0.523 added 57 packages
 *   #6 DONE 1.2s
 * TTY: one status line per vertex, redrawn in place while running, with the
 * last lines of output of running steps; the plain text of a failing step.
 */
import type { Writable } from "node:stream";

export type BuildEvent =
  | { readonly type: "start"; readonly vertex: number; readonly name: string }
  /** A status line (`cache miss: ...`, `naming to ... done`) or, with `elapsed`, a line of the step's output. */
  | { readonly type: "log"; readonly vertex: number; readonly text: string; readonly elapsed?: number }
  | { readonly type: "cached"; readonly vertex: number }
  | { readonly type: "done"; readonly vertex: number; readonly seconds: number }
  | { readonly type: "error"; readonly vertex: number; readonly seconds: number; readonly message: string }
  | { readonly type: "warning"; readonly text: string };

export type ProgressMode = "plain" | "tty" | "quiet";

export interface ProgressRenderer {
  readonly onEvent: (e: BuildEvent) => void;
  /** Flushes the last redraw. */
  finish(): void;
}

export function plainRenderer(out: Writable): ProgressRenderer {
  let first = true;
  return {
    onEvent(e) {
      switch (e.type) {
        case "start":
          out.write(`${first ? "" : "\n"}#${e.vertex} ${e.name}\n`);
          first = false;
          break;
        case "log":
          out.write(e.elapsed === undefined ? `#${e.vertex} ${e.text}\n` : `#${e.vertex} ${e.elapsed.toFixed(3)} ${e.text}\n`);
          break;
        case "cached":
          out.write(`#${e.vertex} CACHED\n`);
          break;
        case "done":
          out.write(`#${e.vertex} DONE ${e.seconds.toFixed(1)}s\n`);
          break;
        case "error":
          out.write(`#${e.vertex} ERROR: ${e.message}\n`);
          break;
        case "warning":
          out.write(`${first ? "" : "\n"} 1 warning found:\n - ${e.text}\n`);
          first = false;
          break;
      }
    },
    finish() {},
  };
}

interface VertexView {
  name: string;
  status: "running" | "done" | "cached" | "error";
  started: number;
  seconds: number;
  tail: string[];
}

/** A simple in-place redraw: the list of vertices with their state and timer, running ones with their last output lines. */
export function ttyRenderer(out: Writable, now: () => number = () => Date.now()): ProgressRenderer {
  const vertices = new Map<number, VertexView>();
  const started = now();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    const lines: string[] = [`[+] Building ${((now() - started) / 1000).toFixed(1)}s (${[...vertices.values()].filter((v) => v.status !== "running").length}/${vertices.size})`];
    for (const [, v] of vertices) {
      const t = v.status === "running" ? (now() - v.started) / 1000 : v.seconds;
      const state = v.status === "cached" ? "CACHED" : v.status === "error" ? "ERROR" : `${t.toFixed(1)}s`;
      lines.push(` => ${v.status === "cached" ? "CACHED " : ""}${v.name}`.padEnd(70) + (v.status === "cached" ? "" : ` ${state}`));
      if (v.status === "running") for (const l of v.tail) lines.push(` => => ${l.slice(0, 100)}`);
    }
    out.write(`${drawn > 0 ? `\x1b[${drawn}A` : ""}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    drawn = lines.length;
  };
  return {
    onEvent(e) {
      if (e.type === "start") vertices.set(e.vertex, { name: e.name, status: "running", started: now(), seconds: 0, tail: [] });
      else if (e.type === "log") {
        const v = vertices.get(e.vertex);
        if (v !== undefined && e.elapsed !== undefined) {
          v.tail.push(e.text);
          if (v.tail.length > 6) v.tail.shift();
        }
      } else if (e.type === "cached") {
        const v = vertices.get(e.vertex);
        if (v !== undefined) v.status = "cached";
      } else if (e.type === "done" || e.type === "error") {
        const v = vertices.get(e.vertex);
        if (v !== undefined) {
          v.status = e.type === "done" ? "done" : "error";
          v.seconds = e.seconds;
        }
      }
      timer ??= setInterval(draw, 150);
      timer.unref();
      if (e.type !== "log") draw();
    },
    finish() {
      if (timer !== undefined) clearInterval(timer);
      draw();
    },
  };
}

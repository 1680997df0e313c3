/**
 * Whole-process timing for benchmarks: runs each command several times after
 * a warm-up, in turn (A B A B ...) so drift hits both alike, and reports the
 * median, min and max wall time, and ratios against a baseline.
 */
import { spawnSync } from "node:child_process";

export interface Timing {
  readonly name: string;
  readonly samplesMs: number[];
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function timeCommands(
  cmds: { name: string; argv: string[]; env?: Record<string, string> }[],
  o: { runs?: number; warmup?: number } = {},
): Timing[] {
  const runs = o.runs ?? 15;
  const samples = cmds.map(() => [] as number[]);
  for (let i = 0; i < (o.warmup ?? 2) + runs; i++) {
    cmds.forEach((c, j) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.argv[0]!, c.argv.slice(1), { env: { ...process.env, ...(c.env ?? {}) }, stdio: ["ignore", "ignore", "pipe"] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name} failed (${r.status}): ${r.stderr.toString()}`);
      if (i >= (o.warmup ?? 2)) samples[j]!.push(ms);
    });
  }
  return cmds.map((c, j) => ({
    name: c.name,
    samplesMs: samples[j]!,
    medianMs: median(samples[j]!),
    minMs: Math.min(...samples[j]!),
    maxMs: Math.max(...samples[j]!),
  }));
}

export function report(timings: Timing[], baseline?: string): string {
  const base = timings.find((t) => t.name === baseline);
  const w = Math.max(...timings.map((t) => t.name.length));
  return timings
    .map((t) => {
      const ratio = base === undefined ? "" : `  ${(t.medianMs / base.medianMs).toFixed(2)}x ${base.name}`;
      return `${t.name.padEnd(w)}  median ${t.medianMs.toFixed(1).padStart(7)} ms  (min ${t.minMs.toFixed(1)}, max ${t.maxMs.toFixed(1)})${ratio}`;
    })
    .join("\n");
}

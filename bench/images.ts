/**
 * Benchmark (issue 2): `berth images` and `berth image inspect` latency with
 * 500 images in the store, and how much of it is Node's own start-up.
 *
 *   node bench/images.ts            (as root or not; uses a private BERTH_ROOT)
 *
 * The 500 images are written through the engine in-process (each: one small
 * layer, its own config), so setting up takes seconds, not 500 CLI runs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { Engine, loadEngineConfig } from "../src/engine/index.ts";
import { TarBuilder } from "../src/testing/tar-builder.ts";
import { report, timeCommands } from "./timing.ts";

const N = Number(process.env["BENCH_IMAGES"] ?? 500);
const dir = mkdtempSync(join(tmpdir(), "berth-bench-images-"));
const env = { BERTH_ROOT: join(dir, "root"), BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json") };
try {
  const engine = await Engine.open(loadEngineConfig(env));
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const tar = new TarBuilder().dir("etc/").file(`etc/image-${i}`, `image ${i}\n`).build();
    await engine.imageImport({ source: Readable.from([tar]), sourceName: "-", reference: `bench/img-${i}:latest`, changes: [`LABEL n=${i}`] });
  }
  engine.close();
  console.log(`made ${N} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const berth = resolve(import.meta.dirname, "../src/bin/berth.mjs");
  const node = process.execPath;
  const nodeFlags = ["--disable-warning=ExperimentalWarning"];
  const timings = timeCommands(
    [
      { name: "node -e 0 (Node start-up)", argv: [node, "-e", "0"] },
      { name: "berth version", argv: [node, ...nodeFlags, berth, "version"], env },
      { name: `berth images (${N} images)`, argv: [node, ...nodeFlags, berth, "images"], env },
      { name: "berth image inspect bench/img-250", argv: [node, ...nodeFlags, berth, "image", "inspect", "bench/img-250"], env },
    ],
    { runs: Number(process.env["BENCH_RUNS"] ?? 15) },
  );
  console.log(report(timings, "node -e 0 (Node start-up)"));
  const startup = timings[0]!.medianMs;
  for (const t of timings.slice(2)) {
    console.log(`${t.name}: Node start-up is ${((startup / t.medianMs) * 100).toFixed(0)}% of ${t.medianMs.toFixed(1)} ms`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

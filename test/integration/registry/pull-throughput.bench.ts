/**
 * Measures a pull of ~100 MB of random layers through a local docker-registry.
 *   node test/integration/registry/pull-throughput.bench.ts [MB=100] [layers=4] [runs=3]
 * Prints MB/s per run and the median. Also times `skopeo copy` of the same image to a
 * local dir for comparison when skopeo is installed.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RegistryClient, pullImage, pushImage } from "../../../src/registry/index.ts";
import { startRegistry } from "../../../src/testing/registry-server.ts";
import { findExecutable } from "../../../src/testing/requires.ts";
import { makeImage, tempStore } from "./helpers.ts";

const mb = Number(process.argv[2] ?? 100);
const nLayers = Number(process.argv[3] ?? 4);
const runs = Number(process.argv[4] ?? 3);
const reg = await startRegistry();
const src = await tempStore();
const client = new RegistryClient({ config: { mirrors: {}, insecure: [] } });
try {
  const per = Math.floor((mb * 1024 * 1024) / nLayers);
  const img = await makeImage(src.store, { layerSizes: Array.from({ length: nLayers }, () => per) });
  const total = img.layers.reduce((a, l) => a + l.size, 0) + img.config.size;
  const ref = { domain: reg.host, path: "bench/pull", tag: "1" };
  let t = performance.now();
  await pushImage({ client, ref, store: src.store, manifest: img.manifest });
  const pushS = (performance.now() - t) / 1000;
  console.log(`push ${(total / 1e6).toFixed(1)} MB: ${pushS.toFixed(2)} s = ${(total / 1e6 / pushS).toFixed(0)} MB/s`);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dst = await tempStore();
    try {
      t = performance.now();
      await pullImage({ client, ref, store: dst.store });
      const s = (performance.now() - t) / 1000;
      rates.push(total / 1e6 / s);
      console.log(`pull run ${i + 1}: ${s.toFixed(2)} s = ${(total / 1e6 / s).toFixed(0)} MB/s`);
    } finally {
      await dst.dispose();
    }
  }
  rates.sort((a, b) => a - b);
  console.log(`median pull: ${rates[Math.floor(rates.length / 2)]!.toFixed(0)} MB/s (${nLayers} layers, ${(total / 1e6).toFixed(1)} MB, fsync'd LocalContentStore)`);
  if (findExecutable("skopeo")) {
    const out = await mkdtemp(join(tmpdir(), "berth-bench-skopeo-"));
    try {
      t = performance.now();
      await promisify(execFile)("skopeo", ["--insecure-policy", "copy", "--src-tls-verify=false", `docker://${reg.host}/bench/pull:1`, `dir:${out}/img`]);
      const s = (performance.now() - t) / 1000;
      console.log(`skopeo copy to dir: ${s.toFixed(2)} s = ${(total / 1e6 / s).toFixed(0)} MB/s`);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
} finally {
  await client.close();
  await reg.stop();
  await src.dispose();
}

/**
 * A private engine (root and run root in a temp dir) with a busybox base
 * image imported as `busybox:latest`, and a helper to build with progress
 * captured as plain text.
 */
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Writable } from "node:stream";
import { Engine, loadEngineConfig } from "../../../src/engine/index.ts";
import { imageBuild, type ImageBuildOptions, type ImageBuildReport } from "../../../src/engine/image-build.ts";
import { plainRenderer } from "../../../src/build/progress.ts";
import { makeBusyboxTar } from "../../../src/testing/busybox.ts";

export interface BuildSandbox {
  readonly dir: string;
  readonly engine: Engine;
  readonly baseId: string;
  /** Writes files (path → content) under a new context dir and returns it. */
  context(files: Record<string, string>, name?: string): string;
  build(o: ImageBuildOptions): Promise<{ report: ImageBuildReport; log: string }>;
  /** Builds, expecting a failure; returns the error and the log. */
  buildFails(o: ImageBuildOptions): Promise<{ error: Error & { detail?: Record<string, unknown>; kind?: string }; log: string }>;
  cleanup(): Promise<void>;
}

export async function buildSandbox(env: Record<string, string> = {}): Promise<BuildSandbox> {
  const dir = mkdtempSync(join(tmpdir(), "berth-build-"));
  const config = loadEngineConfig({ BERTH_ROOT: join(dir, "root"), BERTH_RUNROOT: join(dir, "run"), BERTH_CONFIG: join(dir, "none.json"), ...env });
  const engine = await Engine.open(config);
  const tar = join(dir, "busybox.tar");
  makeBusyboxTar(join(dir, "bb"), tar);
  const imp = await engine.imageImport({ source: createReadStream(tar), sourceName: "busybox.tar", reference: "busybox:latest" });
  let n = 0;
  const run = async (o: ImageBuildOptions): Promise<{ report?: ImageBuildReport; error?: unknown; log: string }> => {
    let log = "";
    const out = new Writable({ write(c, _e, cb) { log += String(c); cb(); } });
    const r = plainRenderer(out);
    try {
      const report = await imageBuild(engine.ctx, { ...o, onProgress: r.onEvent });
      return { report, log };
    } catch (error) {
      return { error, log };
    }
  };
  return {
    dir,
    engine,
    baseId: imp.id,
    context(files, name) {
      const ctx = join(dir, name ?? `ctx${++n}`);
      mkdirSync(ctx, { recursive: true });
      for (const [p, content] of Object.entries(files)) {
        mkdirSync(dirname(join(ctx, p)), { recursive: true });
        writeFileSync(join(ctx, p), content);
      }
      return ctx;
    },
    async build(o) {
      const r = await run(o);
      if (r.error !== undefined) {
        (r.error as Error).message += `\n--- build log ---\n${r.log}`;
        throw r.error;
      }
      return { report: r.report!, log: r.log };
    },
    async buildFails(o) {
      const r = await run(o);
      if (r.error === undefined) throw new Error(`build succeeded unexpectedly:\n${r.log}`);
      return { error: r.error as Error, log: r.log };
    },
    async cleanup() {
      engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

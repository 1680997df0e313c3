/**
 * run/create find the image locally first, and pull it when it is missing
 * (--pull=missing), always (--pull=always) or never, with docker's
 * "Unable to find image 'x' locally" and pull progress on stderr.
 */
import type { Engine } from "../../engine/index.ts";
import { parsePullPolicy } from "../../engine/pull-policy.ts";
import type { CliContext } from "../context.ts";
import { progressSink } from "../progress/index.ts";

export async function ensureImageForRun(ctx: CliContext, engine: Engine, image: string, policy: string, quiet: boolean): Promise<void> {
  const pull = parsePullPolicy(policy);
  // The common case, a local image, needs no registry code (undici costs ~40 ms to load).
  if (pull !== "always" && engine.imageExists(image)) return;
  const { ensureImage } = await import("../../engine/image-ensure.ts");
  const sink = progressSink(ctx.io.stderr, { quiet });
  try {
    await ensureImage(engine.ctx, {
      reference: image,
      pull,
      signal: ctx.io.signal,
      onProgress: sink.onProgress,
      onStatus: (line) => void ctx.io.stderr.write(`${line}\n`),
      env: ctx.io.env,
    });
  } finally {
    sink.writer.done();
  }
}

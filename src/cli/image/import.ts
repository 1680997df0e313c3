/** `berth import file|URL|- [REPOSITORY[:TAG]]` (docker image import). */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { invalidParameter, notFound, unavailable } from "../../core/index.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagList, flagString } from "../flags.ts";

async function openSource(src: string, ctx: CliContext): Promise<Readable> {
  if (src === "-") return ctx.io.stdin;
  if (/^https?:\/\//.test(src)) {
    const res = await fetch(src, { signal: ctx.io.signal });
    if (!res.ok || res.body === null) throw unavailable(`error downloading ${src}: ${res.status} ${res.statusText}`);
    return Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
  }
  try {
    const st = await stat(src);
    if (!st.isFile()) throw invalidParameter(`${src} is not a file`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw notFound(`open ${src}: no such file or directory`);
    throw err;
  }
  return createReadStream(src);
}

export const command: Command<CliContext> = {
  name: "import",
  usage: "berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
  summary: "Import the contents from a tarball to create a filesystem image",
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { name: "change", short: "c", type: "strings", description: "Apply Dockerfile instruction to the created image" },
    { name: "message", short: "m", type: "string", description: "Set commit message for imported image" },
    { name: "platform", type: "string", description: "Set platform if server is multi-platform capable" },
  ],
  async run(ctx, p) {
    const [src = "-", reference] = p.args;
    const engine = await ctx.engine();
    const platformFlag = flagString(p, "platform");
    let platform: { os: string; architecture: string; variant?: string } | undefined;
    if (platformFlag !== undefined && platformFlag !== "") {
      const [os = "linux", architecture = "amd64", variant] = platformFlag.split("/");
      platform = variant === undefined ? { os, architecture } : { os, architecture, variant };
    }
    const message = flagString(p, "message");
    const report = await engine.imageImport({
      source: await openSource(src, ctx),
      sourceName: src,
      ...(reference === undefined ? {} : { reference }),
      changes: flagList(p, "change"),
      ...(message === undefined ? {} : { message }),
      ...(platform === undefined ? {} : { platform }),
      signal: ctx.io.signal,
    });
    ctx.io.stdout.write(`${report.id}\n`);
    return 0;
  },
};

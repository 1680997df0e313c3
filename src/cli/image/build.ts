/**
 * `berth build [OPTIONS] PATH | -` (docker build / docker image build /
 * docker builder build, BuildKit behaviour). Progress goes to stderr (plain,
 * or a redrawn view on a terminal); `-q` prints only the image ID on stdout.
 * A failed build prints BuildKit's error block (the failing step's last
 * output lines, the Dockerfile lines around it, `ERROR: failed to solve: ...`)
 * and exits 1.
 */
import type { Writable } from "node:stream";
import { invalidParameter, isEngineError, kindOf } from "../../core/index.ts";
import { plainRenderer, ttyRenderer, type ProgressRenderer } from "../../build/progress.ts";
import { imageBuild, type ImageBuildOptions } from "../../engine/image-build.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList, flagString, type ParsedFlags } from "../flags.ts";

function keyValues(list: readonly string[], what: string, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq === 0) throw invalidParameter(`invalid ${what}: ${item}`);
    if (eq < 0) {
      // docker: `--build-arg NAME` takes the value from the environment (skipped when unset).
      const v = env[item];
      if (v !== undefined) out[item] = v;
    } else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

function csv(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) out[part.trim()] = "";
    else out[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  return out;
}

/** `--secret id=x,src=path` (also `source=`, `type=file`; `env=` reads an environment variable). */
export function parseSecret(s: string, env: Readonly<Record<string, string | undefined>>): { id: string; src: string } {
  const f = csv(s);
  const id = f["id"];
  const src = f["src"] ?? f["source"];
  if (id === undefined || id === "") throw invalidParameter(`invalid secret ${s}: id is required`);
  if (src !== undefined && src !== "") return { id, src };
  if (f["env"] !== undefined && env[f["env"]] !== undefined) throw invalidParameter(`secret ${id}: env= sources are not supported; use src=`);
  throw invalidParameter(`invalid secret ${s}: src is required`);
}

/** `-o type=docker,dest=x`, `-o type=local,dest=dir`, or a bare `-o dir` (local). */
export function parseOutput(s: string): NonNullable<ImageBuildOptions["output"]> {
  if (!s.includes("=")) return { type: s === "-" ? "tar" : "local", dest: s };
  const f = csv(s);
  const type = f["type"] ?? "local";
  if (type !== "docker" && type !== "oci" && type !== "tar" && type !== "local") throw invalidParameter(`unsupported output type ${type}: berth supports docker, oci, tar and local`);
  const dest = f["dest"];
  if (dest === undefined || dest === "") throw invalidParameter(`output ${type} needs dest=`);
  return { type, dest };
}

function renderError(err: unknown, out: Writable): void {
  const detail = isEngineError(err) ? err.detail : undefined;
  const tail = detail?.["logTail"];
  const vertex = detail?.["vertex"];
  if (typeof vertex === "string" && Array.isArray(tail)) {
    out.write(`------\n > ${vertex}:\n`);
    for (const l of tail.slice(-10)) out.write(`${String(l)}\n`);
    out.write("------\n");
  }
  const lines = detail?.["lines"];
  if (typeof detail?.["file"] === "string" && Array.isArray(lines) && lines.length > 0) {
    out.write(`${detail["file"]}:${String(detail["line"])}\n--------------------\n`);
    const width = String((lines[lines.length - 1] as { line: number }).line).length;
    for (const l of lines as { line: number; text: string; focus: boolean }[]) {
      out.write(`${String(l.line).padStart(width + 2)} | ${l.focus ? ">>> " : "    "}${l.text}\n`);
    }
    out.write("--------------------\n");
  }
  const msg = (err as Error).message;
  const solved = /^(failed to solve|unable to prepare|failed to read dockerfile)/.test(msg) ? msg : `failed to solve: ${msg}`;
  out.write(`ERROR: ${solved}\n`);
}

export const command: Command<CliContext> = {
  name: "build",
  usage: "berth build [OPTIONS] PATH | URL | -",
  summary: "Build an image from a Dockerfile",
  minArgs: 1,
  maxArgs: 1,
  flags: [
    { name: "tag", short: "t", type: "strings", description: 'Name and optionally a tag (format: "name:tag")' },
    { name: "file", short: "f", type: "string", description: 'Name of the Dockerfile (default: "PATH/Dockerfile")' },
    { name: "build-arg", type: "strings", description: "Set build-time variables" },
    { name: "target", type: "string", description: "Set the target build stage to build" },
    { name: "label", type: "strings", description: "Set metadata for an image" },
    { name: "no-cache", type: "bool", description: "Do not use cache when building the image" },
    { name: "pull", type: "bool", description: "Always attempt to pull all referenced images" },
    { name: "iidfile", type: "string", description: "Write the image ID to a file" },
    { name: "quiet", short: "q", type: "bool", description: "Suppress the build output and print image ID on success" },
    { name: "progress", type: "string", default: "auto", description: 'Set type of progress output ("auto", "plain", "tty", "quiet")' },
    { name: "network", type: "string", default: "default", description: "Set the networking mode for the RUN instructions during build" },
    { name: "secret", type: "strings", description: 'Secret to expose to the build (format: "id=mysecret[,src=/local/secret]")' },
    { name: "output", short: "o", type: "strings", description: 'Output destination (format: "type=local,dest=path")' },
    { name: "platform", type: "string", description: "Set the target platform for the build" },
  ],
  async run(ctx, p: ParsedFlags) {
    const [path = "."] = p.args;
    const env = ctx.io.env;
    if (/^(https?|git):\/\//.test(path) || path.startsWith("git@")) throw invalidParameter(`remote build contexts are not supported by berth: ${path}`);
    const fileFlag = flagString(p, "file");
    let dockerfile: string | Uint8Array | undefined;
    let contextTar: ImageBuildOptions["contextTar"];
    if (fileFlag === "-") {
      if (path === "-") throw invalidParameter("invalid argument: can't use stdin for both build context and dockerfile");
      const chunks: Buffer[] = [];
      for await (const c of ctx.io.stdin) chunks.push(c as Buffer);
      dockerfile = Buffer.concat(chunks);
    } else if (fileFlag !== undefined && fileFlag !== "") dockerfile = fileFlag;
    if (path === "-") contextTar = ctx.io.stdin;

    const network = flagString(p, "network") ?? "default";
    if (network !== "default" && network !== "none" && network !== "host" && network !== "bridge") {
      throw invalidParameter(`network mode "${network}" not supported by berth build (default, bridge, none, host)`);
    }
    const quiet = flagBool(p, "quiet");
    let progress = flagString(p, "progress") ?? "auto";
    if (!["auto", "plain", "tty", "quiet", "rawjson"].includes(progress)) throw invalidParameter(`invalid progress mode ${progress}`);
    if (quiet) progress = "quiet";
    if (progress === "auto") progress = ctx.io.stderr.isTTY === true ? "tty" : "plain";
    let renderer: ProgressRenderer | undefined;
    if (progress === "plain" || progress === "rawjson") renderer = plainRenderer(ctx.io.stderr);
    else if (progress === "tty") renderer = ttyRenderer(ctx.io.stderr);

    const outputs = flagList(p, "output").map(parseOutput);
    if (outputs.length > 1) throw invalidParameter("multiple outputs are not supported");
    const iidfile = flagString(p, "iidfile");
    const target = flagString(p, "target");
    const platform = flagString(p, "platform");
    const engine = await ctx.engine();
    const opts: ImageBuildOptions = {
      ...(contextTar === undefined ? { contextDir: path } : { contextTar }),
      ...(dockerfile === undefined ? {} : { dockerfile }),
      tags: flagList(p, "tag"),
      buildArgs: keyValues(flagList(p, "build-arg"), "build-arg", env),
      ...(target === undefined ? {} : { target }),
      labels: keyValues(flagList(p, "label"), "label", {}),
      noCache: flagBool(p, "no-cache"),
      pull: flagBool(p, "pull"),
      ...(iidfile === undefined ? {} : { iidfile }),
      network: network === "bridge" ? "default" : (network as "default" | "none" | "host"),
      secrets: flagList(p, "secret").map((s) => parseSecret(s, env)),
      ...(outputs[0] === undefined ? {} : { output: outputs[0] }),
      stdout: ctx.io.stdout,
      ...(platform === undefined ? {} : { platform }),
      signal: ctx.io.signal,
      ...(renderer === undefined ? {} : { onProgress: renderer.onEvent }),
    };
    try {
      const report = await imageBuild(engine.ctx, opts);
      renderer?.finish();
      if (quiet) ctx.io.stdout.write(`${report.id}\n`);
      return 0;
    } catch (err) {
      renderer?.finish();
      if (kindOf(err) === "cancelled") {
        ctx.io.stderr.write("ERROR: failed to solve: Canceled: context canceled\n");
        return 1;
      }
      renderError(err, ctx.io.stderr);
      return 1;
    }
  },
};


/**
 * The solver: a parsed Dockerfile + a context → the target stage's image
 * (config, layers, history). Stages form a graph (FROM <stage>, COPY
 * --from, RUN --mount from=); the stages the target needs are started
 * together, so independent ones build in parallel, and RUN steps are bounded
 * by a semaphore; stages the target does not need are never built.
 *
 * A stage walks its instructions with a StageEnv (ENV/ARG scope):
 * - config steps (ENV, CMD, LABEL, ...) change the config and add a history
 *   entry with empty_layer; they make no cache record;
 * - filesystem steps (RUN, COPY, ADD, WORKDIR) get a cache key (cache.ts);
 *   on a hit the recorded layer is reused; on a miss the step runs on an
 *   overlay of the parent's layers with a fresh upper dir, and the upper dir
 *   becomes the layer (diffDirectory, mtimes clamped to the stage epoch, gzip).
 *
 * Reproducibility: created times (config, history) and layer mtimes use the
 * stage epoch: SOURCE_DATE_EPOCH when set, else the base image's `created`
 * (the Unix epoch for scratch). The same context and base give the same image.
 */
import { mkdir, mkdtemp, readdir, rm, copyFile, chmod, lchown } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import type { ContentStore } from "../content/content-store.ts";
import type { Descriptor } from "../core/descriptor.ts";
import type { Digest } from "../core/digest.ts";
import { EngineError, invalidParameter, isEngineError, notFound, notImplemented, throwIfAborted } from "../core/errors.ts";
import { compress, decompress, diffDirectory, DigestingStream } from "../layers/index.ts";
import type { CniNetworkBackend } from "../network/index.ts";
import { MediaTypes, type ContainerConfig, type HealthConfig, type HistoryEntry, type ImageConfig } from "../oci/types.ts";
import { resolveUser } from "../runtime/user.ts";
import type { OverlaySnapshotter } from "../snapshots/index.ts";
import { BuildCache, cacheKey, explainMiss, filesDigest, MAX_FILES_RECORDED, slotOf, type CacheInputs, type CacheRecord } from "./cache.ts";
import { checksumEntries, resolveSources, walkTree, type BuildContext } from "./context.ts";
import { copyInto, downloadUrl, parseChmod, resolveChown, type Owner } from "./copy.ts";
import { parseDockerfile, StageEnv, type AddInstruction, type CopyInstruction, type Dockerfile, type Instruction, type RunInstruction, type RunMount, type Stage } from "./dockerfile/index.ts";
import type { StepMount } from "./executor.ts";
import type { BuildEvent } from "./progress.ts";

/** A resolved base image. */
export interface BaseImage {
  readonly id: Digest;
  /** The normalized reference shown in progress (`docker.io/library/busybox:latest`). */
  readonly name: string;
  readonly config: ImageConfig;
  readonly layers: readonly Descriptor[];
}

export interface BuilderDeps {
  readonly content: ContentStore;
  readonly snapshotter: OverlaySnapshotter;
  readonly cache: BuildCache;
  /** Finds a local image; undefined when there is none. */
  readonly resolveImage: (name: string, signal?: AbortSignal) => Promise<BaseImage | undefined>;
  readonly recordLayerSize: (diffId: Digest, size: number) => void;
  readonly networkBackend: () => CniNetworkBackend;
  /** Scratch space on the berth root's filesystem. */
  readonly tmpDir: string;
  readonly runcRoot: string;
  /** Where RUN --mount=type=cache directories live. */
  readonly cacheMountDir: string;
  readonly runc?: string;
}

export interface BuildRequest {
  readonly context: BuildContext;
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly target?: string | undefined;
  readonly noCache: boolean;
  readonly network: "default" | "none" | "host";
  readonly secrets: ReadonlyMap<string, string>;
  readonly platform: { readonly os: string; readonly architecture: string; readonly variant?: string | undefined };
  readonly sourceDateEpoch?: Date | undefined;
  readonly labels?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal | undefined;
  readonly onEvent: (e: BuildEvent) => void;
  /** Parallel RUN steps; default the number of CPUs. */
  readonly parallelism?: number;
  /** Number of the first progress vertex (the caller's own come before). Default 1. */
  readonly firstVertex?: number;
}

export interface StepReport {
  readonly vertex: number;
  readonly name: string;
  readonly cached: boolean;
  readonly missReason?: string;
  readonly seconds: number;
}

export interface BuildResult {
  readonly config: ImageConfig;
  readonly layers: readonly Descriptor[];
  readonly steps: readonly StepReport[];
  readonly warnings: readonly string[];
}

/** The mutable state of a stage after some instructions. */
interface State {
  key: string;
  baseKey: string;
  layers: Descriptor[];
  diffIds: Digest[];
  config: Mutable<ContainerConfig>;
  history: HistoryEntry[];
  author?: string;
  epoch: Date;
  missReason?: string | undefined;
  /** `FROM` display name, and `scratch`. */
  baseName: string;
  os: string;
  architecture: string;
  variant?: string | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `BuildKit`'s failure of a step: message plus where it was in the Dockerfile. */
export function stepError(message: string, o: { file: string; line: number; endLine: number; vertexName: string; logTail?: string[]; exitCode?: number; cause?: unknown }): EngineError {
  return new EngineError("unknown", message, {
    ...(o.cause === undefined ? {} : { cause: o.cause }),
    detail: { file: o.file, line: o.line, endLine: o.endLine, vertex: o.vertexName, logTail: o.logTail ?? [], ...(o.exitCode === undefined ? {} : { exitCode: o.exitCode }) },
  });
}

class Semaphore {
  #free: number;
  readonly #waiters: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((r) => this.#waiters.push(r));
    return () => {
      const next = this.#waiters.shift();
      if (next !== undefined) next();
      else this.#free++;
    };
  }
}

/** Go's %v of a []string, as BuildKit's history uses: `[a b]`. */
const goList = (xs: readonly string[]): string => `[${xs.join(" ")}]`;
/** BuildKit's CMD/ENTRYPOINT history text: `CMD ["node" "server.js"]`. */
const quotedList = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(" ")}]`;

function keyword(inst: Instruction | Stage["from"]): string {
  return inst.kind === "stopsignal" ? "STOPSIGNAL" : inst.kind.toUpperCase();
}

/** The step's display name: the instruction as written, on one line. */
function displayText(inst: Instruction): string {
  const text = inst.original.replace(/\\\r?\n\s*/g, "").replace(/\s+/g, " ").trim();
  const sp = text.indexOf(" ");
  return sp < 0 ? text.toUpperCase() : `${keyword(inst)}${text.slice(sp)}`;
}

/** The stages the target needs, in dependency order (target last). */
function neededStages(df: Dockerfile, target: number): number[] {
  const byName = new Map<string, number>();
  df.stages.forEach((s) => {
    if (s.name !== undefined) byName.set(s.name, s.index);
  });
  const refOf = (v: string | undefined, before: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = byName.get(v.toLowerCase());
    if (n !== undefined && n < before) return n;
    if (/^\d+$/.test(v) && Number(v) < before) return Number(v);
    return undefined;
  };
  const seen = new Set<number>();
  const order: number[] = [];
  const visit = (i: number): void => {
    if (seen.has(i)) return;
    seen.add(i);
    const st = df.stages[i] as Stage;
    const deps: (number | undefined)[] = [refOf(st.baseName, i)];
    for (const c of st.commands) {
      if (c.kind === "copy") deps.push(refOf(c.from, i));
      if (c.kind === "run") for (const m of c.mounts) deps.push(refOf(m.from, i));
    }
    for (const d of deps) if (d !== undefined) visit(d);
    order.push(i);
  };
  visit(target);
  return order;
}

export class Builder {
  readonly #deps: BuilderDeps;
  readonly #req: BuildRequest;
  readonly #df: Dockerfile;
  readonly #stages = new Map<number, Promise<State>>();
  readonly #steps: StepReport[] = [];
  readonly #runs: Semaphore;
  #vertex = 0;
  readonly #file: string;
  readonly #lines: string[];

  constructor(deps: BuilderDeps, req: BuildRequest, df?: Dockerfile) {
    this.#deps = deps;
    this.#req = req;
    this.#file = req.context.dockerfileName;
    this.#df =
      df ??
      parseDockerfile(req.context.dockerfile, {
        file: this.#file,
        buildArgs: req.buildArgs,
        ...(req.target === undefined || req.target === "" ? {} : { target: req.target }),
        platform: { build: platformSpec(req.platform), target: platformSpec(req.platform) },
      });
    this.#vertex = (req.firstVertex ?? 1) - 1;
    this.#runs = new Semaphore(Math.max(1, req.parallelism ?? availableParallelism()));
    this.#lines = Buffer.from(req.context.dockerfile).toString("utf8").split(/\r?\n/);
  }

  /** The last progress vertex number used. */
  get lastVertex(): number {
    return this.#vertex;
  }

  get dockerfile(): Dockerfile {
    return this.#df;
  }

  /** Builds the target stage. @throws located step errors (kind unknown), not-found for bases and sources, cancelled */
  async build(): Promise<BuildResult> {
    const target = this.#df.targetIndex;
    const order = neededStages(this.#df, target);
    // Start every needed stage now: independent ones run in parallel.
    const all = order.map((i) => this.#stage(i));
    const settled = await Promise.allSettled(all);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    const st = await this.#stage(target);
    const config: ImageConfig = {
      architecture: st.architecture,
      ...(st.author === undefined ? {} : { author: st.author }),
      config: st.config,
      created: st.epoch.toISOString(),
      history: st.history,
      os: st.os,
      rootfs: { type: "layers", diff_ids: st.diffIds },
      ...(st.variant === undefined ? {} : { variant: st.variant }),
    };
    return { config, layers: st.layers, steps: this.#steps, warnings: this.#df.warnings.map((w) => `${w.short} (line ${w.range.start.line})`) };
  }

  #stage(i: number): Promise<State> {
    let p = this.#stages.get(i);
    if (p === undefined) {
      p = this.#buildStage(i);
      p.catch(() => undefined);
      this.#stages.set(i, p);
    }
    return p;
  }

  #stageByRef(ref: string, before: number): number | undefined {
    const lower = ref.toLowerCase();
    const named = this.#df.stages.find((s) => s.name === lower && s.index < before);
    if (named !== undefined) return named.index;
    if (/^\d+$/.test(ref)) {
      const n = Number(ref);
      if (n >= before) throw invalidParameter(`invalid stage index ${ref}: refers to a later or the current stage`);
      return n;
    }
    return undefined;
  }

  #emit(e: BuildEvent): void {
    this.#req.onEvent(e);
  }

  #startVertex(name: string): { vertex: number; t0: number } {
    const vertex = ++this.#vertex;
    this.#emit({ type: "start", vertex, name });
    return { vertex, t0: performance.now() };
  }

  async #baseState(stage: Stage): Promise<State> {
    const epochFrom = (created: string | undefined): Date => {
      if (this.#req.sourceDateEpoch !== undefined) return this.#req.sourceDateEpoch;
      const t = created === undefined ? NaN : Date.parse(created);
      return Number.isNaN(t) ? new Date(0) : new Date(t);
    };
    const p = this.#req.platform;
    if (stage.baseName.toLowerCase() === "scratch") {
      return {
        key: "scratch",
        baseKey: "scratch",
        layers: [],
        diffIds: [],
        config: { Env: [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`] },
        history: [],
        epoch: epochFrom(undefined),
        baseName: "scratch",
        os: p.os,
        architecture: p.architecture,
        variant: p.variant,
      };
    }
    const ref = this.#stageByRef(stage.baseName, stage.index);
    if (ref !== undefined) {
      const parent = await this.#stage(ref);
      return { ...parent, layers: [...parent.layers], diffIds: [...parent.diffIds], config: structuredClone(parent.config), history: [...parent.history], baseKey: parent.key, missReason: undefined };
    }
    let img: BaseImage | undefined;
    let resolveError: unknown;
    try {
      img = await this.#deps.resolveImage(stage.baseName, this.#req.signal);
    } catch (err) {
      resolveError = err;
    }
    const v = this.#startVertex(`[${this.#prefix(stage)}1/${stage.commands.length + 1}] FROM ${img?.name ?? stage.baseName}`);
    if (resolveError !== undefined) {
      const err = resolveError;
      this.#emit({ type: "error", vertex: v.vertex, seconds: 0, message: (err as Error).message });
      throw this.#located(stage.location.start.line, stage.location.end.line, `failed to resolve source metadata for ${stage.baseName}: ${(err as Error).message}`, err);
    }
    if (img === undefined) {
      const msg = `${stage.baseName}: not found: no such image in the local store (berth build does not pull; pull access denied for ${stage.baseName.split(":")[0]}, or the image does not exist)`;
      this.#emit({ type: "error", vertex: v.vertex, seconds: 0, message: msg });
      throw notFound(`failed to solve: ${msg}`, { detail: { file: this.#file, line: stage.location.start.line, endLine: stage.location.end.line, lines: this.#context(stage.location.start.line, stage.location.end.line) } });
    }
    this.#emit({ type: "log", vertex: v.vertex, text: `resolve ${img.name}@${img.id} done` });
    this.#emit({ type: "done", vertex: v.vertex, seconds: (performance.now() - v.t0) / 1000 });
    const c = img.config;
    const key = `base:${img.id}`;
    return {
      key,
      baseKey: key,
      layers: [...img.layers],
      diffIds: [...(c.rootfs.diff_ids as Digest[])],
      config: structuredClone((c.config ?? {}) as Mutable<ContainerConfig>),
      history: [...(c.history ?? [])],
      ...(c.author === undefined ? {} : { author: c.author }),
      epoch: epochFrom(c.created),
      baseName: img.name,
      os: c.os,
      architecture: c.architecture,
      variant: c.variant,
    };
  }

  #prefix(stage: Stage): string {
    if (this.#df.stages.length <= 1) return "";
    return `${stage.name ?? `stage-${stage.index}`} `;
  }

  #context(line: number, endLine: number): { line: number; text: string; focus: boolean }[] {
    const out: { line: number; text: string; focus: boolean }[] = [];
    for (let n = Math.max(1, line - 3); n <= Math.min(this.#lines.length, endLine + 1); n++) {
      const text = this.#lines[n - 1] ?? "";
      if (n > endLine && text.trim() === "") continue;
      out.push({ line: n, text, focus: n >= line && n <= endLine });
    }
    return out;
  }

  #located(line: number, endLine: number, message: string, cause?: unknown, extra: Record<string, unknown> = {}): EngineError {
    const kind = isEngineError(cause) ? cause.kind : "unknown";
    return new EngineError(kind === "cancelled" ? "cancelled" : kind, message, {
      ...(cause === undefined ? {} : { cause }),
      detail: { file: this.#file, line, endLine, lines: this.#context(line, endLine), ...extra },
    });
  }

  async #buildStage(i: number): Promise<State> {
    const stage = this.#df.stages[i] as Stage;
    const state = await this.#baseState(stage);
    const env = new StageEnv({
      baseEnv: state.config.Env ?? [],
      buildArgs: this.#req.buildArgs,
      globalArgs: this.#df.globalArgs,
      escape: this.#df.directives.escape,
      file: this.#file,
    });
    // ONBUILD triggers of the base run first, then are cleared (Docker).
    const triggers: Instruction[] = [];
    for (const t of state.config.OnBuild ?? []) {
      const parsed = parseDockerfile(`FROM scratch\n${t}\n`, { file: `${this.#file} (ONBUILD)` });
      const cmd = parsed.stages[0]?.commands[0];
      if (cmd !== undefined) triggers.push({ ...cmd, location: stage.location });
    }
    delete state.config.OnBuild;
    const commands = [...triggers, ...stage.commands];
    const total = commands.length + 1;
    for (const [k, cmd] of commands.entries()) {
      throwIfAborted(this.#req.signal);
      const stepName = `[${this.#prefix(stage)}${k + 2}/${total}] ${displayText(cmd)}`;
      let expanded: { instruction: Instruction; matched: ReadonlySet<string> };
      try {
        expanded = env.step(cmd);
      } catch (err) {
        throw this.#located(cmd.location.start.line, cmd.location.end.line, (err as Error).message, err);
      }
      await this.#apply(stage, k, stepName, expanded.instruction, expanded.matched, env, state);
    }
    if (i === this.#df.targetIndex && this.#req.labels !== undefined && Object.keys(this.#req.labels).length > 0) {
      state.config.Labels = { ...(state.config.Labels ?? {}), ...this.#req.labels };
    }
    return state;
  }

  #history(state: State, createdBy: string, emptyLayer: boolean): void {
    state.history.push({ created: state.epoch.toISOString(), created_by: createdBy, comment: "buildkit.dockerfile.v0", ...(emptyLayer ? { empty_layer: true } : {}) });
  }

  async #apply(stage: Stage, k: number, stepName: string, inst: Instruction, matched: ReadonlySet<string>, env: StageEnv, state: State): Promise<void> {
    const c = state.config;
    const shell = (): string[] => [...(c.Shell ?? ["/bin/sh", "-c"])];
    const cmdLine = (cl: { args: readonly string[]; prependShell: boolean }): string[] => (cl.prependShell ? [...shell(), cl.args.join(" ")] : [...cl.args]);
    switch (inst.kind) {
      case "env":
        c.Env = [...env.env].map(([kk, v]) => `${kk}=${v}`);
        this.#history(state, `ENV ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
        return;
      case "arg":
        this.#history(state, `ARG ${inst.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(" ")}`, true);
        return;
      case "label":
        c.Labels = { ...(c.Labels ?? {}) };
        for (const p of inst.pairs) (c.Labels as Record<string, string>)[p.key] = p.value;
        this.#history(state, `LABEL ${inst.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`, true);
        return;
      case "cmd":
        c.Cmd = cmdLine(inst.command);
        if (inst.command.prependShell) c.ArgsEscaped = true;
        this.#history(state, `CMD ${quotedList(c.Cmd)}`, true);
        return;
      case "entrypoint":
        c.Entrypoint = cmdLine(inst.command);
        // Docker: ENTRYPOINT resets a CMD inherited from the base image.
        if (!this.#stageSetCmd(stage, k)) c.Cmd = null;
        this.#history(state, `ENTRYPOINT ${quotedList(c.Entrypoint)}`, true);
        return;
      case "expose": {
        const ports: Record<string, object> = { ...(c.ExposedPorts ?? {}) };
        for (const p of inst.ports) ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        c.ExposedPorts = ports;
        this.#history(state, `EXPOSE ${goList(inst.ports.map((p) => (p.includes("/") ? p : `${p}/tcp`)))}`, true);
        return;
      }
      case "user":
        c.User = inst.user;
        this.#history(state, `USER ${inst.user}`, true);
        return;
      case "volume": {
        const vols: Record<string, object> = { ...(c.Volumes ?? {}) };
        for (const v of inst.volumes) vols[v] = {};
        c.Volumes = vols;
        this.#history(state, `VOLUME ${goList(inst.volumes)}`, true);
        return;
      }
      case "stopsignal":
        c.StopSignal = inst.signal;
        this.#history(state, `STOPSIGNAL ${inst.signal}`, true);
        return;
      case "healthcheck": {
        const h: Mutable<HealthConfig> = { Test: [...inst.test] };
        if (inst.interval !== undefined) h.Interval = inst.interval;
        if (inst.timeout !== undefined) h.Timeout = inst.timeout;
        if (inst.startPeriod !== undefined) h.StartPeriod = inst.startPeriod;
        if (inst.startInterval !== undefined) h.StartInterval = inst.startInterval;
        if (inst.retries !== undefined) h.Retries = inst.retries;
        c.Healthcheck = h;
        this.#history(state, `HEALTHCHECK &{${quotedList(inst.test)} ${JSON.stringify(fmtDur(inst.interval))} ${JSON.stringify(fmtDur(inst.timeout))} ${JSON.stringify(fmtDur(inst.startPeriod))} ${JSON.stringify(fmtDur(inst.startInterval))} '\\x${(inst.retries ?? 0).toString(16).padStart(2, "0")}'}`, true);
        return;
      }
      case "shell":
        c.Shell = [...inst.shell];
        this.#history(state, `SHELL ${goList(inst.shell)}`, true);
        return;
      case "onbuild":
        c.OnBuild = [...(c.OnBuild ?? []), inst.expression];
        this.#history(state, `ONBUILD ${inst.expression}`, true);
        return;
      case "maintainer":
        state.author = inst.maintainer;
        this.#history(state, `MAINTAINER ${inst.maintainer}`, true);
        return;
      case "workdir":
        return this.#workdir(stage, k, stepName, inst.path, matched, env, state);
      case "run":
        return this.#run(stage, k, stepName, inst, env, state);
      case "copy":
      case "add":
        return this.#copy(stage, k, stepName, inst, matched, env, state);
    }
  }

  #stageSetCmd(stage: Stage, k: number): boolean {
    return stage.commands.slice(0, k).some((x) => x.kind === "cmd");
  }

  #vars(matched: ReadonlySet<string>, env: StageEnv): { vars: Record<string, string>; argNames: string[] } {
    const scope = env.lookup();
    const vars: Record<string, string> = {};
    const argNames: string[] = [];
    for (const m of [...matched].sort()) {
      const v = scope.get(m);
      if (v !== undefined) vars[m] = v;
      if (env.args.has(m) && !env.env.has(m)) argNames.push(m);
    }
    return { vars, argNames };
  }

  /**
   * The common path of a filesystem step: key, cache lookup, run on a fresh
   * upper dir when missed, commit the layer, record it.
   */
  async #fsStep(
    stage: Stage,
    k: number,
    stepName: string,
    inputs: CacheInputs,
    createdBy: string,
    state: State,
    exec: (rootfs: string, stepDir: string, vertex: number, t0: number) => Promise<void>,
    o: { alwaysVertex?: boolean; location: { start: { line: number }; end: { line: number } } },
  ): Promise<void> {
    const key = cacheKey(inputs);
    const slot = slotOf([this.#req.context.identity, this.#file, stage.name ?? stage.index, k, inputs.op.split(" ")[0] ?? ""]);
    const v = this.#startVertex(stepName);
    if (!this.#req.noCache) {
      const rec = this.#deps.cache.get(key);
      if (rec !== undefined && (rec.layer === undefined || (await this.#deps.content.has(rec.layer.digest)))) {
        this.#deps.cache.remember(slot, inputs);
        this.#emit({ type: "cached", vertex: v.vertex });
        this.#steps.push({ vertex: v.vertex, name: stepName, cached: true, seconds: 0 });
        this.#applyRecord(state, key, rec, createdBy, undefined);
        return;
      }
    }
    const reason = this.#req.noCache ? "cache disabled" : explainMiss(this.#deps.cache.previous(slot), inputs, { parentReason: state.missReason, baseKey: state.baseKey });
    this.#emit({ type: "log", vertex: v.vertex, text: `cache miss: ${reason}` });
    let rec: CacheRecord;
    try {
      rec = await this.#withRootfs(state, async (rootfs, dir) => exec(rootfs, dir, v.vertex, v.t0), inputs);
    } catch (err) {
      const seconds = (performance.now() - v.t0) / 1000;
      this.#emit({ type: "error", vertex: v.vertex, seconds, message: (err as Error).message });
      if (isEngineError(err) && err.detail?.["file"] !== undefined) throw err;
      throw this.#located(o.location.start.line, o.location.end.line, (err as Error).message, err, { vertex: stepName });
    }
    this.#deps.cache.put(key, rec, slot);
    const seconds = (performance.now() - v.t0) / 1000;
    this.#emit({ type: "done", vertex: v.vertex, seconds });
    this.#steps.push({ vertex: v.vertex, name: stepName, cached: false, missReason: reason, seconds });
    this.#applyRecord(state, key, rec, createdBy, reason);
  }

  #applyRecord(state: State, key: string, rec: CacheRecord, createdBy: string, reason: string | undefined): void {
    state.key = key;
    state.missReason = reason;
    if (rec.layer !== undefined && rec.diffId !== undefined) {
      state.layers.push(rec.layer);
      state.diffIds.push(rec.diffId);
      this.#history(state, createdBy, false);
    } else {
      this.#history(state, createdBy, true);
    }
  }

  /** Mounts an overlay of the state's layers plus a fresh upper dir, runs fn, and commits the upper dir as a layer. */
  async #withRootfs(state: State, fn: (rootfs: string, stepDir: string) => Promise<void>, inputs: CacheInputs): Promise<CacheRecord> {
    const rootfsOf = await this.#mountState(state);
    try {
      await fn(rootfsOf.rootfs, rootfsOf.dir);
      await rootfsOf.unmount();
      return await this.#commit(join(rootfsOf.dir, "upper"), state, inputs);
    } finally {
      await rootfsOf.release();
    }
  }

  /** A writable overlay of a state (its changes are thrown away by release unless committed). */
  async #mountState(state: State): Promise<{ rootfs: string; dir: string; unmount: () => Promise<void>; release: () => Promise<void> }> {
    const snap = this.#deps.snapshotter;
    const layers = state.layers;
    const lowerDirs = await snap.ensureLayers({
      diffIds: state.diffIds,
      open: async (i) => decompress(await this.#deps.content.openRead((layers[i] as Descriptor).digest)),
      ...(this.#req.signal ? { signal: this.#req.signal } : {}),
    });
    await mkdir(this.#deps.tmpDir, { recursive: true });
    const dir = await mkdtemp(join(this.#deps.tmpDir, "build-step-"));
    let mounted = false;
    const m = await snap.prepare({ containerDir: dir, lowerDirs });
    const rootfs = m.target ?? join(dir, "rootfs");
    await snap.mount(m, rootfs);
    mounted = true;
    const unmount = async (): Promise<void> => {
      if (mounted) await snap.unmount(rootfs);
      mounted = false;
    };
    return {
      rootfs,
      dir,
      unmount,
      release: async () => {
        await unmount().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      },
    };
  }

  async #commit(upper: string, state: State, inputs: CacheInputs): Promise<CacheRecord> {
    if ((await readdir(upper)).length === 0) return { size: 0, inputs };
    const tar = diffDirectory(upper, { sourceDateEpoch: Math.floor(state.epoch.getTime() / 1000), ...(this.#req.signal ? { signal: this.#req.signal } : {}) });
    const hash = new DigestingStream();
    tar.on("error", (e) => hash.destroy(e));
    const gz = compress(tar.pipe(hash), "gzip");
    await using writer = await this.#deps.content.writer(this.#req.signal ? { signal: this.#req.signal } : {});
    for await (const chunk of gz as Readable) await writer.write(chunk as Uint8Array);
    const blob = await writer.commit();
    const diffId = await hash.digest;
    const size = await hash.size;
    this.#deps.recordLayerSize(diffId, size);
    return { layer: { mediaType: MediaTypes.ociLayerGzip, digest: blob.digest, size: blob.size }, diffId, size, inputs };
  }

  async #workdir(stage: Stage, k: number, stepName: string, path: string, matched: ReadonlySet<string>, env: StageEnv, state: State): Promise<void> {
    const wd = posix.resolve(state.config.WorkingDir ?? "/", path);
    state.config.WorkingDir = wd;
    const { vars, argNames } = this.#vars(matched, env);
    const user = state.config.User ?? "";
    const inputs: CacheInputs = { parent: state.key, op: `WORKDIR ${wd} user=${user}`, vars, argNames, platform: this.#platformString() };
    if (wd === "/") {
      this.#history(state, `WORKDIR ${wd}`, true);
      return;
    }
    const inst = (stage.commands[k] ?? stage.commands[0]) as Instruction;
    await this.#fsStep(stage, k, stepName, inputs, `WORKDIR ${wd}`, state, async (rootfs) => {
      const u = user === "" ? { uid: 0, gid: 0 } : await resolveUser(rootfs, user);
      const { mkdirAllInRoot } = await import("./copy.ts");
      await mkdirAllInRoot(rootfs, wd, { uid: u.uid, gid: u.gid });
    }, { location: inst.location });
  }

  #platformString(): string {
    const p = this.#req.platform;
    return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
  }

  async #run(stage: Stage, k: number, stepName: string, inst: RunInstruction, env: StageEnv, state: State): Promise<void> {
    const c = state.config;
    const shell = [...(c.Shell ?? ["/bin/sh", "-c"])];
    let args: string[];
    if (inst.heredocs.length > 0 && inst.command.prependShell) {
      const line = inst.command.args.join(" ");
      const only = inst.heredocs.length === 1 && /^\s*<<-?\s*["']?[A-Za-z0-9_]+["']?\s*$/.test(line);
      if (only) {
        const body = (inst.heredocs[0] as { content: string }).content;
        args = body.startsWith("#!") ? ["/bin/sh", "-c", `cat > /tmp/.berth-heredoc <<'__BERTH_EOF__'\n${body}__BERTH_EOF__\nchmod +x /tmp/.berth-heredoc && exec /tmp/.berth-heredoc`] : [...shell, body];
      } else {
        args = [...shell, `${line}\n${inst.heredocs.map((h) => `${h.content}${h.name}\n`).join("")}`];
      }
    } else {
      args = inst.command.prependShell ? [...shell, inst.command.args.join(" ")] : [...inst.command.args];
    }
    const runEnv = env.runEnv();
    const argsInScope = [...env.args].filter(([kk]) => !env.env.has(kk));
    const network = inst.network ?? this.#req.network;
    const mountDefs: string[] = [];
    const files: Record<string, string> = {};
    for (const m of inst.mounts) {
      mountDefs.push(JSON.stringify(m));
      if (m.type === "bind" && m.from === undefined) {
        const src = posix.normalize(`/${m.source ?? ""}`);
        const entries = await walkTree(join(this.#req.context.dir, src), { excluded: (rel) => this.#req.context.ignore.excludes(posix.join(src.slice(1), rel)), signal: this.#req.signal }).catch(() => []);
        Object.assign(files, await checksumEntries(entries, `mount:${src}`, this.#req.signal));
      } else if ((m.type === "bind" || m.type === "cache") && m.from !== undefined) {
        mountDefs.push(`from=${await this.#sourceKey(m.from, stage)}`);
      }
    }
    const vars: Record<string, string> = {};
    for (const e of runEnv) {
      const eq = e.indexOf("=");
      vars[e.slice(0, eq)] = e.slice(eq + 1);
    }
    const nfiles = Object.keys(files).length;
    const inputs: CacheInputs = {
      parent: state.key,
      op: `RUN ${JSON.stringify(args)} user=${c.User ?? ""} workdir=${c.WorkingDir ?? "/"} network=${network} security=${inst.security ?? "sandbox"} mounts=${mountDefs.join(";")}`,
      vars,
      argNames: argsInScope.map(([kk]) => kk),
      ...(nfiles > 0 ? { filesDigest: filesDigest(files) } : {}),
      ...(nfiles > 0 && nfiles <= MAX_FILES_RECORDED ? { files } : {}),
      platform: this.#platformString(),
    };
    const argPrefix = argsInScope.length > 0 ? `|${argsInScope.length} ${argsInScope.map(([kk, v]) => `${kk}=${v}`).join(" ")} ` : "";
    const createdBy = `RUN ${argPrefix}${args.join(" ")} # buildkit`;
    const tail: string[] = [];
    await this.#fsStep(stage, k, stepName, inputs, createdBy, state, async (rootfs, dir, vertex, t0) => {
      const release = await this.#runs.acquire();
      const cleanups: (() => Promise<void>)[] = [];
      try {
        const mounts: StepMount[] = [];
        const extraEnv: string[] = [];
        for (const m of inst.mounts) mounts.push(...(await this.#runMount(m, stage, dir, rootfs, extraEnv, cleanups)));
        const id = `berth-build-${dir.slice(-6).replace(/[^A-Za-z0-9]/g, "x")}${Math.random().toString(16).slice(2, 8)}`;
        const { runStep } = await import("./executor.ts");
        const code = await runStep({
          id,
          stepDir: dir,
          rootfs,
          args,
          env: [...runEnv, ...extraEnv],
          user: c.User ?? "",
          workdir: c.WorkingDir ?? "/",
          network,
          mounts,
          runcRoot: this.#deps.runcRoot,
          ...(this.#deps.runc === undefined ? {} : { runc: this.#deps.runc }),
          networkBackend: this.#deps.networkBackend,
          onOutput: (line) => {
            tail.push(line);
            if (tail.length > 20) tail.shift();
            this.#emit({ type: "log", vertex, text: line, elapsed: (performance.now() - t0) / 1000 });
          },
          signal: this.#req.signal,
        });
        if (code !== 0) {
          const shown = args.map((a) => (a.includes(" ") || a === "" ? a : a)).join(" ");
          throw this.#located(inst.location.start.line, inst.location.end.line, `process "${shown}" did not complete successfully: exit code: ${code}`, undefined, { vertex: stepName, logTail: [...tail], exitCode: code });
        }
      } finally {
        for (const f of cleanups.reverse()) await f().catch(() => undefined);
        release();
      }
    }, { location: inst.location });
  }

  /** The key contribution of a `--from` source: a stage's key, or an image ID. */
  async #sourceKey(from: string, stage: Stage): Promise<string> {
    const idx = this.#stageByRef(from, stage.index);
    if (idx !== undefined) return (await this.#stage(idx)).key;
    const img = await this.#deps.resolveImage(from, this.#req.signal);
    if (img === undefined) throw notFound(`${from}: not found: no such stage or local image`);
    return `base:${img.id}`;
  }

  /** A state to read `--from` sources from. */
  async #fromState(from: string, stage: Stage): Promise<State> {
    const idx = this.#stageByRef(from, stage.index);
    if (idx !== undefined) return this.#stage(idx);
    const img = await this.#deps.resolveImage(from, this.#req.signal);
    if (img === undefined) throw notFound(`failed to resolve source metadata for ${from}: not found: no such stage or local image (berth build does not pull)`);
    return {
      key: `base:${img.id}`, baseKey: `base:${img.id}`, layers: [...img.layers], diffIds: [...(img.config.rootfs.diff_ids as Digest[])],
      config: {}, history: [], epoch: new Date(0), baseName: img.name, os: img.config.os, architecture: img.config.architecture,
    };
  }

  async #runMount(m: RunMount, stage: Stage, dir: string, rootfs: string, extraEnv: string[], cleanups: (() => Promise<void>)[]): Promise<StepMount[]> {
    const target = posix.resolve("/", m.target);
    switch (m.type) {
      case "cache": {
        const id = m.id ?? target;
        const host = join(this.#deps.cacheMountDir, Buffer.from(id).toString("hex").slice(0, 120) || "root");
        await mkdir(host, { recursive: true, mode: m.mode ?? 0o755 });
        await chmod(host, m.mode ?? 0o755);
        await lchown(host, m.uid ?? 0, m.gid ?? 0);
        return [{ destination: target, type: "bind", source: host, options: ["rbind", m.readOnly ? "ro" : "rw"] }];
      }
      case "tmpfs":
        return [{ destination: target, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", ...(m.size === undefined ? [] : [`size=${m.size}`])] }];
      case "secret": {
        const id = m.id ?? posix.basename(target);
        const src = this.#req.secrets.get(id);
        if (src === undefined) {
          if (m.required === true) throw invalidParameter(`secret ${id}: not found`);
          return [];
        }
        const secretDir = join(dir, "secrets");
        await mkdir(secretDir, { recursive: true, mode: 0o700 });
        const file = join(secretDir, Buffer.from(id).toString("hex").slice(0, 100) || "s");
        await copyFile(src, file);
        await chmod(file, m.mode ?? 0o400);
        await lchown(file, m.uid ?? 0, m.gid ?? 0);
        if (m.env !== undefined) {
          const { readFile } = await import("node:fs/promises");
          extraEnv.push(`${m.env}=${(await readFile(src, "utf8")).trim()}`);
        }
        if (m.env !== undefined && m.target === "") return [];
        const dest = m.target === "" || m.target === undefined ? `/run/secrets/${id}` : target;
        return [{ destination: dest, type: "bind", source: file, options: ["rbind", "ro"] }];
      }
      case "bind": {
        let srcRoot: string;
        if (m.from === undefined) srcRoot = this.#req.context.dir;
        else {
          const st = await this.#fromState(m.from, stage);
          const mounted = await this.#mountState(st);
          cleanups.push(mounted.release);
          srcRoot = mounted.rootfs;
        }
        const { secureJoin } = await import("../runtime/secure-path.ts");
        const source = await secureJoin(srcRoot, m.source ?? "/");
        if (!m.readOnly) {
          // rw: writes go to a throwaway overlay.
          const rwDir = await mkdtemp(join(this.#deps.tmpDir, "build-bind-"));
          const snap = this.#deps.snapshotter;
          const mm = await snap.prepare({ containerDir: rwDir, lowerDirs: [source] });
          const merged = mm.target ?? join(rwDir, "rootfs");
          await snap.mount(mm, merged);
          cleanups.push(async () => {
            await snap.unmount(merged);
            await rm(rwDir, { recursive: true, force: true });
          });
          return [{ destination: target, type: "bind", source: merged, options: ["rbind", "rw"] }];
        }
        return [{ destination: target, type: "bind", source, options: ["rbind", "ro"] }];
      }
      case "ssh":
        throw notImplemented("RUN --mount=type=ssh is not supported by berth build");
    }
    return [];
  }

  async #copy(stage: Stage, k: number, stepName: string, inst: CopyInstruction | AddInstruction, matched: ReadonlySet<string>, env: StageEnv, state: State): Promise<void> {
    const c = state.config;
    const from = inst.kind === "copy" ? inst.from : undefined;
    const wd = c.WorkingDir ?? "/";
    const destAbs = posix.resolve(wd, inst.dest) + (inst.dest.endsWith("/") || inst.dest === "." ? "/" : "");
    const { vars, argNames } = this.#vars(matched, env);
    const ctx = this.#req.context;
    const urls = inst.kind === "add" ? inst.sources.filter((s) => /^https?:\/\//.test(s)) : [];
    const locals = inst.sources.filter((s) => !urls.includes(s));
    const files: Record<string, string> = {};
    let fromKey = "";
    let srcRoot = ctx.dir;
    let fromState: State | undefined;
    if (from !== undefined) {
      fromState = await this.#fromState(from, stage);
      fromKey = fromState.key;
    } else {
      const sel = await resolveSources(ctx.dir, locals, { excluded: (rel) => ctx.ignore.excludes(rel) }).catch((err: unknown) => {
        throw this.#located(inst.location.start.line, inst.location.end.line, (err as Error).message, err);
      });
      for (const s of sel) {
        const entries = await walkTree(s.host, {
          excluded: (rel) => ctx.ignore.excludes(s.rel === "" ? rel : `${s.rel}/${rel}`),
          descend: (rel) => ctx.ignore.mayHaveExceptionsUnder(s.rel === "" ? rel : `${s.rel}/${rel}`),
          signal: this.#req.signal,
        });
        Object.assign(files, await checksumEntries(entries, s.rel, this.#req.signal));
      }
    }
    const downloads: { url: string; file: string; digest: string; name: string; lastModified?: Date }[] = [];
    let dlDir: string | undefined;
    if (urls.length > 0) {
      await mkdir(this.#deps.tmpDir, { recursive: true });
      dlDir = await mkdtemp(join(this.#deps.tmpDir, "build-add-"));
      try {
        for (const [n, url] of urls.entries()) {
          const file = join(dlDir, `f${n}`);
          const r = await downloadUrl(url, file, { checksum: inst.kind === "add" ? inst.checksum : undefined, signal: this.#req.signal }).catch((err: unknown) => {
            throw this.#located(inst.location.start.line, inst.location.end.line, (err as Error).message, err);
          });
          downloads.push({ url, file, ...r });
          files[url] = r.digest;
        }
      } catch (err) {
        // A failed download (a wrong --checksum) leaves no scratch directory behind.
        await rm(dlDir, { recursive: true, force: true });
        throw err;
      }
    }
    for (const h of inst.heredocSources) files[`<<${h.path}`] = (await import("./cache.ts")).sha256Hex(h.data);
    const flags = [
      ...(from !== undefined ? [`--from=${from}`] : []),
      ...(inst.chown !== undefined ? [`--chown=${inst.chown}`] : []),
      ...(inst.chmod !== undefined ? [`--chmod=${inst.chmod}`] : []),
      ...(inst.link ? ["--link"] : []),
      ...(inst.kind === "copy" && inst.parents ? ["--parents"] : []),
      ...inst.exclude.map((e) => `--exclude=${e}`),
    ];
    const op = `${inst.kind.toUpperCase()} ${[...flags, ...inst.sources, ...inst.heredocSources.map((h) => `<<${h.path}`), destAbs].join(" ")} user=${c.User ?? ""}`;
    const nfiles = Object.keys(files).length;
    const inputs: CacheInputs = {
      parent: state.key,
      op: fromKey === "" ? op : `${op} from=${fromKey}`,
      vars,
      argNames,
      ...(nfiles > 0 ? { filesDigest: filesDigest(files) } : {}),
      ...(nfiles > 0 && nfiles <= MAX_FILES_RECORDED ? { files } : {}),
      platform: this.#platformString(),
    };
    const createdBy = `${inst.kind.toUpperCase()} ${[...flags, ...inst.sources, ...inst.heredocSources.map((h) => `<<${h.path}`), inst.dest].join(" ")} # buildkit`;
    try {
      await this.#fsStep(stage, k, stepName, inputs, createdBy, state, async (rootfs) => {
        const owner: Owner = inst.chown !== undefined && inst.chown !== "" ? await resolveChown(rootfs, inst.chown) : { uid: 0, gid: 0 };
        const mode = inst.chmod !== undefined && inst.chmod !== "" ? parseChmod(inst.chmod) : undefined;
        let release: (() => Promise<void>) | undefined;
        try {
          let sel;
          if (fromState !== undefined) {
            const mounted = await this.#mountState(fromState);
            release = mounted.release;
            srcRoot = mounted.rootfs;
            sel = await resolveSources(srcRoot, locals);
          } else {
            sel = await resolveSources(ctx.dir, locals, { excluded: (rel) => ctx.ignore.excludes(rel) });
          }
          await copyInto({
            rootfs,
            srcRoot,
            sources: sel,
            heredocs: inst.heredocSources.map((h) => ({ path: h.path, data: h.data })),
            dest: destAbs,
            owner,
            chmod: mode,
            exclude: inst.exclude,
            contextExcluded: fromState === undefined ? (rel) => ctx.ignore.excludes(rel) : undefined,
            contextDescend: fromState === undefined ? (rel) => ctx.ignore.mayHaveExceptionsUnder(rel) : undefined,
            parents: inst.kind === "copy" && inst.parents,
            extractArchives: inst.kind === "add",
            signal: this.#req.signal,
          });
          for (const d of downloads) {
            const destIsDir = destAbs.endsWith("/") || inst.sources.length > 1;
            const target = destIsDir ? posix.join(destAbs, d.name) : destAbs;
            const { mkdirAllInRoot } = await import("./copy.ts");
            const parent = await mkdirAllInRoot(rootfs, posix.dirname(target), owner);
            const host = join(parent, posix.basename(target));
            await rm(host, { force: true });
            await copyFile(d.file, host);
            await chmod(host, mode ?? 0o600);
            await lchown(host, owner.uid, owner.gid);
            if (d.lastModified !== undefined) {
              const { utimes } = await import("node:fs/promises");
              await utimes(host, d.lastModified, d.lastModified);
            }
          }
        } finally {
          await release?.();
        }
      }, { location: inst.location });
    } finally {
      if (dlDir !== undefined) await rm(dlDir, { recursive: true, force: true });
    }
  }
}

function platformSpec(p: BuildRequest["platform"]): { os: string; architecture: string; variant?: string } {
  return p.variant === undefined ? { os: p.os, architecture: p.architecture } : { os: p.os, architecture: p.architecture, variant: p.variant };
}

function fmtDur(ns: number | undefined): string {
  if (ns === undefined || ns === 0) return "0s";
  const s = ns / 1e9;
  return Number.isInteger(s) ? `${s}s` : `${s}s`;
}


/**
 * Typed Dockerfile instructions: AST → stages of commands (BuildKit
 * frontend/dockerfile/instructions).
 *
 * Lifecycle: `parse` (parser.ts) → `parseDockerfile` here → the planner. This
 * module is pure: no image config, no files. It validates argument counts and
 * flags, splits the file into stages, and expands the FROM lines, because only
 * FROM depends on nothing but the global ARGs and the build arguments.
 *
 * Everything else is stored *unexpanded* (quotes included) and expanded by the
 * planner through `expandInstruction(inst, env)`, because the environment at a
 * given instruction includes the base image's ENV, which only the planner
 * knows. `expandInstruction` applies Docker's rules on which fields are
 * expanded:
 *   ADD, COPY      sources, destination, --chown, --chmod, --from, --exclude,
 *                  --checksum, heredoc bodies whose delimiter was not quoted
 *   ENV, LABEL     keys and values; all pairs of one instruction see the env
 *                  from *before* the instruction (`ENV a=1 b=$a` uses the old a)
 *   ARG            default values
 *   EXPOSE, STOPSIGNAL, USER, VOLUME, WORKDIR   their words
 *   RUN            only the values of --mount options (the command itself is
 *                  expanded by the shell at run time)
 *   CMD, ENTRYPOINT, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER   never
 * It also returns the names of the variables it used; the build cache keys a
 * step on the values of those (a changed ARG misses at its first use).
 *
 * Invariants: `Stage.index` is the position in `stages`; stage names are
 * lowercase and unique; `Stage.commands` never contains FROM.
 *
 * @throws invalid-parameter, located: `<file>:<line>: <reason>` with
 *   `detail: { file, line, range, reason }`; reasons use BuildKit's texts
 *   (`unknown instruction: RUUN (did you mean RUN?)`, `unknown flag: fromm`,
 *   `COPY requires at least two arguments, but only one was provided.
 *   Destination could not be determined.`).
 *
 * Example:
 *   const df = parseDockerfile(bytes, { file: "Dockerfile", buildArgs: { V: "1" } });
 *   for (const st of df.stages) for (const c of st.commands) {
 *     const { instruction, matched } = expandInstruction(c, env);  // env: image ENV + ARGs
 *   }
 */
import type { PlatformSpec } from "../../core/descriptor.ts";
import { invalidParameter, isEngineError } from "../../core/errors.ts";
import {
  chompHeredocContent,
  locatedError,
  parse,
  type Directives,
  type Heredoc,
  type Node,
  type ParseWarning,
  type SourceRange,
} from "./parser.ts";
import { processWord, type EscapeToken, type ShellEnv } from "./shell.ts";

interface Base {
  /** Source lines of the instruction. */
  readonly location: SourceRange;
  /** The instruction text (continuations joined). */
  readonly original: string;
}

/** A command line: exec form (`["a","b"]`) or shell form (one string, run through SHELL). */
export interface CommandLine {
  readonly args: readonly string[];
  /** True for shell form: the args (one string) are appended to the stage SHELL. */
  readonly prependShell: boolean;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface FromInstruction extends Base {
  readonly kind: "from";
  readonly baseName: string;
  readonly stageName?: string;
  readonly platform?: string;
}

export type RunMountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";
export type CacheSharing = "shared" | "private" | "locked";

/** One `RUN --mount=...` (BuildKit runmount.go). Defaults are filled in. */
export interface RunMount {
  readonly type: RunMountType;
  /** Mount point in the container; for secret/ssh a default is derived. */
  readonly target: string;
  /** Path inside `from` (bind, cache); empty means its root. */
  readonly source?: string;
  /** Stage name, stage index or image for bind and cache mounts. */
  readonly from?: string;
  readonly readOnly: boolean;
  /** Cache id (default: the target) or secret/ssh id. */
  readonly id?: string;
  readonly sharing?: CacheSharing;
  /** File mode (cache dir, secret and ssh files). */
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Secret and ssh: fail when the id is not provided. */
  readonly required?: boolean;
  /** tmpfs size in bytes. */
  readonly size?: number;
  /** Secret only: expose as this environment variable. */
  readonly env?: string;
}

export type NetworkMode = "default" | "none" | "host";
export type SecurityMode = "sandbox" | "insecure";

export interface RunInstruction extends Base {
  readonly kind: "run";
  readonly command: CommandLine;
  /** Raw `--mount` values, for re-parsing after expansion. */
  readonly mountSpecs: readonly string[];
  readonly mounts: readonly RunMount[];
  readonly network?: NetworkMode;
  readonly security?: SecurityMode;
  /** Here-documents; `<<-` bodies are already tab-stripped. */
  readonly heredocs: readonly Heredoc[];
}

export interface CmdInstruction extends Base {
  readonly kind: "cmd";
  readonly command: CommandLine;
}
export interface EntrypointInstruction extends Base {
  readonly kind: "entrypoint";
  readonly command: CommandLine;
}
export interface EnvInstruction extends Base {
  readonly kind: "env";
  readonly pairs: readonly KeyValue[];
}
export interface ArgEntry {
  readonly key: string;
  /** The default, unexpanded; absent for `ARG name`. */
  readonly value?: string;
}
export interface ArgInstruction extends Base {
  readonly kind: "arg";
  readonly args: readonly ArgEntry[];
}
export interface LabelInstruction extends Base {
  readonly kind: "label";
  readonly pairs: readonly KeyValue[];
}
export interface ExposeInstruction extends Base {
  readonly kind: "expose";
  readonly ports: readonly string[];
}
export interface UserInstruction extends Base {
  readonly kind: "user";
  readonly user: string;
}
export interface WorkdirInstruction extends Base {
  readonly kind: "workdir";
  readonly path: string;
}
export interface VolumeInstruction extends Base {
  readonly kind: "volume";
  readonly volumes: readonly string[];
}
export interface StopSignalInstruction extends Base {
  readonly kind: "stopsignal";
  readonly signal: string;
}
export interface HealthcheckInstruction extends Base {
  readonly kind: "healthcheck";
  /** Docker's Healthcheck.Test: `["NONE"]`, `["CMD", ...]` or `["CMD-SHELL", line]`. */
  readonly test: readonly string[];
  /** Durations in nanoseconds (Docker's unit); absent = inherit/default. */
  readonly interval?: number;
  readonly timeout?: number;
  readonly startPeriod?: number;
  readonly startInterval?: number;
  readonly retries?: number;
}
export interface ShellInstruction extends Base {
  readonly kind: "shell";
  readonly shell: readonly string[];
}
export interface OnbuildInstruction extends Base {
  readonly kind: "onbuild";
  /** The trigger as stored in the image config (`RUN echo hi`). */
  readonly expression: string;
  /** The trigger, parsed and validated. */
  readonly trigger: Instruction;
}
export interface MaintainerInstruction extends Base {
  readonly kind: "maintainer";
  readonly maintainer: string;
}

/** A source given inline by a here-document (`COPY <<EOF /dst`). */
export interface HeredocSource {
  /** The file name to create (the delimiter). */
  readonly path: string;
  readonly data: string;
  /** Whether variables in `data` are expanded. */
  readonly expand: boolean;
}

interface CopyLike extends Base {
  /** Source paths (wildcards are left to the builder); heredoc sources are listed separately. */
  readonly sources: readonly string[];
  readonly heredocSources: readonly HeredocSource[];
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: string;
  readonly link: boolean;
  readonly exclude: readonly string[];
}
export interface CopyInstruction extends CopyLike {
  readonly kind: "copy";
  readonly from?: string;
  readonly parents: boolean;
}
export interface AddInstruction extends CopyLike {
  readonly kind: "add";
  readonly checksum?: string;
  readonly keepGitDir: boolean;
}

export type Instruction =
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | EnvInstruction
  | ArgInstruction
  | LabelInstruction
  | ExposeInstruction
  | UserInstruction
  | WorkdirInstruction
  | VolumeInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | OnbuildInstruction
  | MaintainerInstruction
  | CopyInstruction
  | AddInstruction;

export interface Stage {
  /** The `AS` name, lowercased. */
  readonly name?: string;
  /** The base image or stage name with global ARGs expanded. */
  readonly baseName: string;
  /** `--platform` with global ARGs expanded. */
  readonly platform?: string;
  readonly index: number;
  readonly commands: readonly Instruction[];
  /** The FROM line. */
  readonly location: SourceRange;
  /** The FROM instruction as written (unexpanded). */
  readonly from: FromInstruction;
  /** Global variables the FROM line used (cache keying). */
  readonly usedArgs: readonly string[];
}

export interface BuildWarning {
  readonly short: string;
  readonly detail: string;
  readonly url?: string;
  readonly range: SourceRange;
}

export interface DockerfileOptions {
  /** Name used in error messages; default `Dockerfile`. */
  readonly file?: string;
  /** `--build-arg` values. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `--target`: must name a stage. */
  readonly target?: string;
  /** Platforms for the automatic ARGs; both default to linux/amd64. */
  readonly platform?: { readonly build?: PlatformSpec; readonly target?: PlatformSpec };
}

export interface Dockerfile {
  readonly stages: readonly Stage[];
  /** ARGs before the first FROM. */
  readonly metaArgs: readonly ArgInstruction[];
  /** The global scope after the meta ARGs: automatic platform args plus declared meta args with values. */
  readonly globalArgs: ReadonlyMap<string, string>;
  /** Index of the stage to build (`target`, or the last stage). */
  readonly targetIndex: number;
  readonly warnings: readonly BuildWarning[];
  readonly directives: Directives;
}

/** ARGs usable in RUN without an ARG instruction (and left out of the image history). */
export const PROXY_ARGS: readonly string[] = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** `os/arch[/variant]`. */
export function formatPlatform(p: PlatformSpec): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

const defaultPlatform: PlatformSpec = { os: "linux", architecture: "amd64" };

/**
 * The automatic platform ARGs of the global scope (BUILDPLATFORM, BUILDOS,
 * BUILDARCH, BUILDVARIANT, TARGETPLATFORM, TARGETOS, TARGETARCH,
 * TARGETVARIANT). Inside a stage they need an `ARG NAME` to be visible.
 */
export function platformArgs(build: PlatformSpec = defaultPlatform, target: PlatformSpec = build): Record<string, string> {
  return {
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? "",
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? "",
  };
}

/**
 * The value an `ARG key[=default]` inside a stage takes: the build argument if
 * given, else the (expanded) default, else the value of a global ARG of the
 * same name, else unset (undefined).
 */
export function resolveStageArg(
  key: string,
  expandedDefault: string | undefined,
  scope: { readonly buildArgs: Readonly<Record<string, string>>; readonly globalArgs: ReadonlyMap<string, string> },
): string | undefined {
  if (Object.hasOwn(scope.buildArgs, key)) return scope.buildArgs[key];
  if (expandedDefault !== undefined) return expandedDefault;
  return scope.globalArgs.get(key);
}

// ---------------------------------------------------------------------------
// Errors

/** Internal: a reason the caller locates at the node. */
class InstructionError extends Error {}
const fail = (reason: string): never => {
  throw new InstructionError(reason);
};

const errAtLeastOne = (c: string) => fail(`${c} requires at least one argument`);
const errExactlyOne = (c: string) => fail(`${c} requires exactly one argument`);

// ---------------------------------------------------------------------------
// Flags (BuildKit BFlags)

type FlagKind = "string" | "bool" | "strings";
type FlagValues = Map<string, string | boolean | string[]>;

function parseFlags(flags: readonly string[], spec: Readonly<Record<string, FlagKind>>): FlagValues {
  const out: FlagValues = new Map();
  for (const raw of flags) {
    if (!raw.startsWith("--")) fail(`Arg should start with -- : ${raw}`);
    const body = raw.slice(2);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) return fail(`unknown flag: ${name}`);
    if (kind !== "strings" && out.has(name)) fail(`Duplicate flag specified: ${name}`);
    if (kind === "bool") {
      const v = value === undefined ? "true" : value.toLowerCase();
      if (v !== "true" && v !== "false") fail(`expecting boolean value for flag ${name}, not: ${value ?? ""}`);
      out.set(name, v === "true");
    } else {
      if (value === undefined) fail(`Missing a value on flag: ${name}`);
      if (kind === "strings") {
        const prev = out.get(name);
        out.set(name, [...(Array.isArray(prev) ? prev : []), value ?? ""]);
      } else out.set(name, value ?? "");
    }
  }
  return out;
}

const str = (f: FlagValues, n: string): string | undefined => {
  const v = f.get(n);
  return typeof v === "string" ? v : undefined;
};
const bool = (f: FlagValues, n: string): boolean => f.get(n) === true;
const strs = (f: FlagValues, n: string): string[] => {
  const v = f.get(n);
  return Array.isArray(v) ? v : [];
};
/** `{ key: value }` only when value is defined (exactOptionalPropertyTypes). */
const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

// ---------------------------------------------------------------------------
// RUN --mount

/** Splits a CSV line (Go encoding/csv semantics for the cases that matter: double quotes). */
function splitCsv(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === "") quoted = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (quoted) fail(`parse error on line 1, column ${s.length}: extraneous or missing " in quoted-field`);
  out.push(cur);
  return out;
}

const mountTypes = new Set<string>(["bind", "cache", "tmpfs", "secret", "ssh"]);

function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?$/i.exec(v.trim());
  if (!m) return fail(`invalid size ${JSON.stringify(v)}`);
  const unit = (m[2] ?? "").toLowerCase().replace(/i?b$/, "");
  const pow = ["", "k", "m", "g", "t", "p"].indexOf(unit);
  return Math.floor(Number(m[1]) * 1024 ** Math.max(pow, 0));
}

/**
 * Parses one `--mount` value. `expand` is applied to each value (not to the
 * keys), as BuildKit does.
 */
export function parseRunMount(spec: string, expand: (s: string) => string = (s) => s, sshIndex = 0): RunMount {
  let type: RunMountType = "bind";
  const fields = splitCsv(spec);
  const kv: [string, string | undefined][] = fields.map((f) => {
    const eq = f.indexOf("=");
    return eq < 0 ? [f.trim().toLowerCase(), undefined] : [f.slice(0, eq).trim().toLowerCase(), expand(f.slice(eq + 1))];
  });
  for (const [k, v] of kv) {
    if (k === "type") {
      if (v === undefined || !mountTypes.has(v.toLowerCase())) fail(`unsupported mount type ${JSON.stringify(v ?? "")}`);
      type = (v ?? "").toLowerCase() as RunMountType;
    }
  }
  let target: string | undefined;
  let source: string | undefined;
  let from: string | undefined;
  let readOnly: boolean | undefined;
  let id: string | undefined;
  let sharing: CacheSharing | undefined;
  let mode: number | undefined;
  let uid: number | undefined;
  let gid: number | undefined;
  let required: boolean | undefined;
  let size: number | undefined;
  let env: string | undefined;
  const boolOf = (k: string, v: string | undefined): boolean => {
    if (v === undefined) return true;
    const l = v.toLowerCase();
    if (l === "true" || l === "1") return true;
    if (l === "false" || l === "0") return false;
    return fail(`invalid value for ${k}: ${v}`);
  };
  const intOf = (k: string, v: string | undefined, radix: number): number => {
    const n = v === undefined ? NaN : Number.parseInt(v, radix);
    if (!Number.isInteger(n) || n < 0 || !(radix === 8 ? /^0?[0-7]+$/ : /^\d+$/).test(v ?? "")) fail(`invalid value for ${k}: ${v ?? ""}`);
    return n;
  };
  for (const [k, v] of kv) {
    switch (k) {
      case "type":
        break;
      case "readonly":
      case "ro":
        readOnly = boolOf(k, v);
        break;
      case "readwrite":
      case "rw":
        readOnly = !boolOf(k, v);
        break;
      case "required":
        if (type !== "secret" && type !== "ssh") fail(`unexpected key '${k}' for mount type '${type}'`);
        required = boolOf(k, v);
        break;
      default:
        if (v === undefined) fail(`invalid field '${k}' must be a key=value pair`);
        switch (k) {
          case "target":
          case "dst":
          case "destination":
            target = v;
            break;
          case "source":
          case "src":
            source = v;
            break;
          case "from":
            from = v;
            break;
          case "id":
            id = v;
            break;
          case "sharing":
            if (v !== "shared" && v !== "private" && v !== "locked") fail(`unsupported sharing value ${JSON.stringify(v)}`);
            sharing = v as CacheSharing;
            break;
          case "mode":
            mode = intOf(k, v, 8);
            break;
          case "uid":
            uid = intOf(k, v, 10);
            break;
          case "gid":
            gid = intOf(k, v, 10);
            break;
          case "size":
            if (type !== "tmpfs") fail(`unexpected key '${k}' for mount type '${type}'`);
            size = parseSize(v ?? "");
            break;
          case "env":
            if (type !== "secret") fail(`unexpected key '${k}' for mount type '${type}'`);
            env = v;
            break;
          default:
            fail(`unexpected key '${k}' in '${fields.find((f) => f.trim().toLowerCase().startsWith(k)) ?? k}'`);
        }
    }
  }
  if (type === "secret") {
    if (target === undefined && id === undefined && env === undefined) fail("one of id, target or env must be given for secret mounts");
    if (id === undefined && target !== undefined) id = target.replace(/\/+$/, "").split("/").pop() ?? "";
    if (target === undefined && env === undefined) target = `/run/secrets/${id ?? ""}`;
    mode ??= 0o400;
  } else if (type === "ssh") {
    id ??= "default";
    target ??= `/run/buildkit/ssh_agent.${sshIndex}`;
    mode ??= 0o600;
  } else if (target === undefined) {
    fail(`mount type=${type} requires a target (target=<path>)`);
  }
  if (type === "cache") {
    sharing ??= "shared";
    mode ??= 0o755;
    id ??= target;
  }
  if (type === "tmpfs" && from !== undefined) fail("'from' is not supported for tmpfs mounts");
  if ((type === "secret" || type === "ssh") && readOnly === false) fail(`${type} mounts can only be read-only`);
  return {
    type,
    target: target ?? "",
    readOnly: readOnly ?? (type === "bind" || type === "secret" || type === "ssh"),
    ...opt("source", source),
    ...opt("from", from),
    ...opt("id", id),
    ...opt("sharing", sharing),
    ...opt("mode", mode),
    ...opt("uid", uid),
    ...opt("gid", gid),
    ...opt("required", required),
    ...opt("size", size),
    ...opt("env", env),
  };
}

// ---------------------------------------------------------------------------
// Durations (Go time.ParseDuration)

const durUnits: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Parses a Go duration (`1m30s`, `1.5h`, `250ms`, `0`) into nanoseconds. */
export function parseDuration(s: string): number {
  if (s === "0") return 0;
  const m = /^([+-]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/u.exec(s);
  if (!m) return fail(`time: invalid duration ${JSON.stringify(s)}`);
  let total = 0;
  for (const part of (m[2] ?? "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gu)) {
    total += Number(part[1]) * (durUnits[part[2] ?? ""] ?? 0);
  }
  return Math.round(m[1] === "-" ? -total : total);
}

// ---------------------------------------------------------------------------
// Node → Instruction

const knownInstructions = [
  "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck",
  "label", "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir",
];

function levenshtein(a: string, b: string): number {
  const d: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] ?? 0;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j] ?? 0;
      d[j] = Math.min((d[j] ?? 0) + 1, (d[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length] ?? 0;
}

function unknownInstruction(node: Node): never {
  const word = node.original.trim().split(/\s+/)[0] ?? node.instruction;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of knownInstructions) {
    const dist = levenshtein(node.instruction, k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  const hint = best !== undefined && bestD <= 2 ? ` (did you mean ${best.toUpperCase()}?)` : "";
  return fail(`unknown instruction: ${word}${hint}`);
}

function commandLine(node: Node): CommandLine {
  return node.json ? { args: [...node.value], prependShell: false } : { args: node.value.length > 0 ? [node.value[0] ?? ""] : [], prependShell: true };
}

function pairs(node: Node): KeyValue[] {
  const out: KeyValue[] = [];
  for (let i = 0; i + 1 < node.value.length; i += 2) out.push({ key: node.value[i] ?? "", value: node.value[i + 1] ?? "" });
  return out;
}

function copyLike(node: Node, name: "COPY" | "ADD", f: FlagValues): Omit<CopyLike, keyof Base> {
  if (node.value.length < 2) {
    fail(`${name} requires at least two arguments, but only one was provided. Destination could not be determined.`);
  }
  const args = node.value;
  const dest = args[args.length - 1] ?? "";
  if (!node.json && /^\d*<<-?[^<]+$/.test(dest)) fail(`${name} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const heredocSources: HeredocSource[] = [];
  for (const src of args.slice(0, -1)) {
    const m = node.json ? null : /^\d*<<-?(.+)$/.exec(src);
    const hd = m ? node.heredocs.find((h) => h.name === unquote(m[1] ?? "")) : undefined;
    if (hd) heredocSources.push({ path: hd.name, data: hd.chomp ? chompHeredocContent(hd.content) : hd.content, expand: hd.expand });
    else sources.push(src);
  }
  return {
    sources,
    heredocSources,
    dest,
    ...opt("chown", str(f, "chown")),
    ...opt("chmod", str(f, "chmod")),
    link: bool(f, "link"),
    exclude: strs(f, "exclude"),
  };
}

function unquote(s: string): string {
  return s.replace(/^(["'])(.*)\1$/, "$2");
}

/** A HEALTHCHECK duration flag; 0 means "inherit", else at least 1ms. */
function healthDuration(f: FlagValues, flag: string): number | undefined {
  const v = str(f, flag);
  if (v === undefined || v === "") return undefined;
  const ns = parseDuration(v);
  if (ns === 0) return 0;
  // BuildKit's text names the flag, not the value.
  if (ns < 1e6) fail(`Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
  return ns;
}

/** Turns one AST node (not FROM) into a typed instruction. */
function toInstruction(node: Node, inOnbuild: boolean): Instruction {
  const base: Base = { location: node.range, original: node.original };
  const noFlags = (): void => void parseFlags(node.flags, {});
  switch (node.instruction) {
    case "run": {
      const f = parseFlags(node.flags, { mount: "strings", network: "string", security: "string" });
      if (node.value.length === 0 && node.heredocs.length === 0) errAtLeastOne("RUN");
      const network = str(f, "network");
      if (network !== undefined && network !== "default" && network !== "none" && network !== "host") fail(`unsupported network mode ${JSON.stringify(network)}`);
      const security = str(f, "security");
      if (security !== undefined && security !== "sandbox" && security !== "insecure") fail(`unsupported security mode ${JSON.stringify(security)}`);
      const mountSpecs = strs(f, "mount");
      let ssh = 0;
      const mounts = mountSpecs.map((m) => parseRunMount(m, (s) => s, m.includes("type=ssh") ? ssh++ : 0));
      return {
        ...base,
        kind: "run",
        command: commandLine(node),
        mountSpecs,
        mounts,
        ...opt("network", network as NetworkMode | undefined),
        ...opt("security", security as SecurityMode | undefined),
        heredocs: node.heredocs.map((h) => (h.chomp ? { ...h, content: chompHeredocContent(h.content) } : h)),
      };
    }
    case "cmd":
    case "entrypoint":
      noFlags();
      return { ...base, kind: node.instruction, command: commandLine(node) };
    case "env":
    case "label": {
      noFlags();
      const kind = node.instruction;
      if (node.value.length === 0) errAtLeastOne(kind.toUpperCase());
      const ps = pairs(node);
      if (kind === "env") for (const p of ps) if (p.key === "") fail("ENV names can not be blank");
      return kind === "env" ? { ...base, kind, pairs: ps } : { ...base, kind, pairs: ps };
    }
    case "arg": {
      noFlags();
      if (node.value.length === 0) errAtLeastOne("ARG");
      const args = node.value.map((w): ArgEntry => {
        const eq = w.indexOf("=");
        const key = eq < 0 ? w : w.slice(0, eq);
        if (key === "") fail(`ARG names can not be blank`);
        return eq < 0 ? { key } : { key, value: w.slice(eq + 1) };
      });
      return { ...base, kind: "arg", args };
    }
    case "expose":
      noFlags();
      if (node.value.length === 0) errAtLeastOne("EXPOSE");
      return { ...base, kind: "expose", ports: [...node.value].sort() };
    case "user":
    case "workdir":
    case "stopsignal":
    case "maintainer": {
      noFlags();
      const word = node.value[0];
      if (node.value.length !== 1 || word === undefined) return errExactlyOne(node.instruction.toUpperCase());
      if (node.instruction === "user") return { ...base, kind: "user", user: word };
      if (node.instruction === "workdir") return { ...base, kind: "workdir", path: word };
      if (node.instruction === "stopsignal") return { ...base, kind: "stopsignal", signal: word };
      return { ...base, kind: "maintainer", maintainer: word };
    }
    case "volume":
      noFlags();
      if (node.value.length === 0) errAtLeastOne("VOLUME");
      for (const v of node.value) if (v.trim() === "") fail("VOLUME specified can not be an empty string");
      return { ...base, kind: "volume", volumes: node.value.map((v) => v.trim()) };
    case "shell":
      noFlags();
      if (!node.json) fail("SHELL requires the arguments to be in JSON form");
      if (node.value.length === 0) errAtLeastOne("SHELL");
      return { ...base, kind: "shell", shell: [...node.value] };
    case "healthcheck": {
      if (node.value.length === 0) errAtLeastOne("HEALTHCHECK");
      const typ = (node.value[0] ?? "").toUpperCase();
      if (typ === "NONE") {
        if (node.value.length > 1) fail("HEALTHCHECK NONE takes no arguments");
        noFlags();
        return { ...base, kind: "healthcheck", test: ["NONE"] };
      }
      if (typ !== "CMD") fail(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
      const f = parseFlags(node.flags, { interval: "string", timeout: "string", "start-period": "string", "start-interval": "string", retries: "string" });
      const cmd = node.value.slice(1);
      if (cmd.length === 0 || (!node.json && (cmd[0] ?? "").trim() === "")) fail("Missing command after HEALTHCHECK CMD");
      const test = node.json ? ["CMD", ...cmd] : ["CMD-SHELL", cmd[0] ?? ""];
      const r = str(f, "retries");
      let retries: number | undefined;
      if (r !== undefined) {
        if (!/^[+-]?\d+$/.test(r)) fail(`strconv.ParseInt: parsing ${JSON.stringify(r)}: invalid syntax`);
        retries = Number(r);
        if (retries < 0) fail(`--retries cannot be negative (${retries})`);
      }
      return {
        ...base,
        kind: "healthcheck",
        test,
        ...opt("interval", healthDuration(f, "interval")),
        ...opt("timeout", healthDuration(f, "timeout")),
        ...opt("startPeriod", healthDuration(f, "start-period")),
        ...opt("startInterval", healthDuration(f, "start-interval")),
        ...opt("retries", retries),
      };
    }
    case "onbuild": {
      noFlags();
      if (inOnbuild) fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      const next = node.next;
      if (next === undefined) return errAtLeastOne("ONBUILD");
      if (next.instruction === "onbuild") fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
      if (next.instruction === "from" || next.instruction === "maintainer") fail(`${next.instruction.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      const trigger = toInstruction(next, true);
      const expression = node.original.trim().replace(/^\S+\s+/, "");
      return { ...base, kind: "onbuild", expression, trigger };
    }
    case "copy": {
      const f = parseFlags(node.flags, { from: "string", chown: "string", chmod: "string", link: "bool", exclude: "strings", parents: "bool" });
      return { ...base, kind: "copy", ...copyLike(node, "COPY", f), ...opt("from", str(f, "from")), parents: bool(f, "parents") };
    }
    case "add": {
      const f = parseFlags(node.flags, { chown: "string", chmod: "string", link: "bool", exclude: "strings", checksum: "string", "keep-git-dir": "bool" });
      return { ...base, kind: "add", ...copyLike(node, "ADD", f), ...opt("checksum", str(f, "checksum")), keepGitDir: bool(f, "keep-git-dir") };
    }
    case "from":
      return fail("FROM isn't allowed here");
    default:
      return unknownInstruction(node);
  }
}

const validStageName = /^[a-z][a-z0-9\-_.]*$/;

function fromInstruction(node: Node): FromInstruction {
  const f = parseFlags(node.flags, { platform: "string" });
  const v = node.value;
  if (!(v.length === 1 || (v.length === 3 && (v[1] ?? "").toLowerCase() === "as"))) fail("FROM requires either one or three arguments");
  let stageName: string | undefined;
  if (v.length === 3) {
    stageName = (v[2] ?? "").toLowerCase();
    if (!validStageName.test(stageName)) fail(`invalid name for build stage: ${JSON.stringify(v[2] ?? "")}, name can't start with a number or contain symbols`);
  }
  return {
    location: node.range,
    original: node.original,
    kind: "from",
    baseName: v[0] ?? "",
    ...opt("stageName", stageName),
    ...opt("platform", str(f, "platform")),
  };
}

/**
 * Parses a Dockerfile into stages.
 * @throws invalid-parameter, located (see module doc).
 */
export function parseDockerfile(source: Uint8Array | string, options: DockerfileOptions = {}): Dockerfile {
  const file = options.file ?? "Dockerfile";
  const buildArgs = options.buildArgs ?? {};
  const ast = parse(source, { file });
  const escape = ast.directives.escape;
  const warnings: BuildWarning[] = ast.warnings.map((w: ParseWarning) => ({ ...w }));
  if (ast.children.length === 0) throw locatedError(file, { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, "the Dockerfile cannot be empty");

  const globalArgs = new Map<string, string>(Object.entries(platformArgs(options.platform?.build, options.platform?.target)));
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  let current: { from: FromInstruction; name?: string; baseName: string; platform?: string; usedArgs: string[]; commands: Instruction[] } | undefined;
  const flush = (): void => {
    if (!current) return;
    stages.push({
      ...opt("name", current.name),
      baseName: current.baseName,
      ...opt("platform", current.platform),
      index: stages.length,
      commands: current.commands,
      location: current.from.location,
      from: current.from,
      usedArgs: current.usedArgs,
    });
  };

  for (const node of ast.children) {
    const at = (e: unknown): never => {
      if (e instanceof InstructionError) throw locatedError(file, node.range, e.message);
      if (isEngineError(e) && e.detail?.["file"] === undefined) throw locatedError(file, node.range, e.message, e);
      throw e;
    };
    try {
      if (node.instruction === "from") {
        flush();
        const from = fromInstruction(node);
        const base = processWord(from.baseName, globalArgs, { escape });
        if (base.result === "") fail(`base name (${from.baseName}) should not be blank`);
        const used = new Set(base.matched);
        let platform: string | undefined;
        if (from.platform !== undefined) {
          const p = processWord(from.platform, globalArgs, { escape });
          platform = p.result;
          for (const m of p.matched) used.add(m);
        }
        if (from.stageName !== undefined) {
          if (stages.some((s) => s.name === from.stageName)) fail(`duplicate stage name ${JSON.stringify(from.stageName)}`);
          const written = node.value[2] ?? "";
          if (written !== written.toLowerCase()) {
            warnings.push({ short: "Stage name should be lowercase", detail: `Stage name '${written}' should be lowercase`, url: "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/", range: node.range });
          }
          const kw = node.original.trim().split(/\s+/)[0] ?? "";
          const as = node.value[1] ?? "";
          if ((kw === kw.toUpperCase()) !== (as === as.toUpperCase())) {
            warnings.push({ short: "The 'as' keyword should match the case of the 'from' keyword", detail: `'${as}' and '${kw}' keywords' casing do not match`, url: "https://docs.docker.com/go/dockerfile/rule/from-as-casing/", range: node.range });
          }
        }
        current = { from, ...opt("name", from.stageName), baseName: base.result, ...opt("platform", platform), usedArgs: [...used].sort(), commands: [] };
        continue;
      }
      const inst = toInstruction(node, false);
      if (!current) {
        if (inst.kind !== "arg") fail("no build stage in current context");
        else {
          // Meta ARG: build args override defaults; defaults see earlier meta args.
          metaArgs.push(inst);
          for (const a of inst.args) {
            const def = a.value === undefined ? undefined : processWord(a.value, globalArgs, { escape }).result;
            const v = Object.hasOwn(buildArgs, a.key) ? buildArgs[a.key] : def;
            if (v !== undefined) globalArgs.set(a.key, v);
          }
          continue;
        }
      }
      if (inst.kind === "maintainer") {
        warnings.push({ short: "The MAINTAINER instruction is deprecated, use a label instead to define an image author", detail: "Maintainer instruction is deprecated in favor of using label", url: "https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/", range: node.range });
      }
      if ((inst.kind === "env" || inst.kind === "label") && node.legacyKeyValue) {
        warnings.push({ short: `"${inst.kind.toUpperCase()} key=value" should be used instead of legacy "${inst.kind.toUpperCase()} key value" format`, detail: "Legacy key/value format with whitespace separator should not be used", url: "https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/", range: node.range });
      }
      current?.commands.push(inst);
    } catch (e) {
      at(e);
    }
  }
  flush();
  if (stages.length === 0) throw locatedError(file, ast.children[ast.children.length - 1]?.range ?? { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, "dockerfile contains no stages to build");

  let targetIndex = stages.length - 1;
  if (options.target !== undefined && options.target !== "") {
    const t = options.target.toLowerCase();
    const idx = stages.findIndex((s) => s.name === t);
    if (idx < 0) throw invalidParameter(`target stage "${options.target}" could not be found`);
    targetIndex = idx;
  }
  return { stages, metaArgs, globalArgs, targetIndex, warnings, directives: ast.directives };
}

// ---------------------------------------------------------------------------
// Expansion

export interface ExpandOptions {
  readonly escape?: EscapeToken;
  /** Dockerfile name for located errors; default `Dockerfile`. */
  readonly file?: string;
}

export interface ExpandedInstruction<T extends Instruction = Instruction> {
  readonly instruction: T;
  /** Variables the expansion read that were set. */
  readonly matched: ReadonlySet<string>;
  /** Variables the expansion referenced that were unset. */
  readonly unmatched: ReadonlySet<string>;
}

/**
 * Expands the fields Docker expands for `inst` against `env` (the stage
 * environment at this instruction: image ENV, stage ENV and ARG values).
 * Instructions that are never expanded are returned as they are.
 * @throws invalid-parameter, located at the instruction, on a bad substitution.
 */
export function expandInstruction<T extends Instruction>(inst: T, env: ShellEnv, options: ExpandOptions = {}): ExpandedInstruction<T> {
  const matched = new Set<string>();
  const unmatched = new Set<string>();
  const w = (s: string): string => {
    try {
      const r = processWord(s, env, options.escape === undefined ? {} : { escape: options.escape });
      for (const m of r.matched) matched.add(m);
      for (const m of r.unmatched) unmatched.add(m);
      return r.result;
    } catch (e) {
      throw locatedError(options.file ?? "Dockerfile", inst.location, e instanceof Error ? e.message : String(e), e);
    }
  };
  const o = <K extends string>(key: K, v: string | undefined) => opt(key, v === undefined ? undefined : w(v));
  let out: Instruction;
  switch (inst.kind) {
    case "copy":
    case "add": {
      const common = {
        sources: inst.sources.map(w),
        dest: w(inst.dest),
        heredocSources: inst.heredocSources.map((h) => (h.expand ? { ...h, data: w(h.data) } : h)),
        exclude: inst.exclude.map(w),
        ...o("chown", inst.chown),
        ...o("chmod", inst.chmod),
      };
      out = inst.kind === "copy" ? { ...inst, ...common, ...o("from", inst.from) } : { ...inst, ...common, ...o("checksum", inst.checksum) };
      break;
    }
    case "env":
    case "label":
      out = { ...inst, pairs: inst.pairs.map((p) => ({ key: w(p.key), value: w(p.value) })) };
      break;
    case "arg":
      out = { ...inst, args: inst.args.map((a) => (a.value === undefined ? a : { key: a.key, value: w(a.value) })) };
      break;
    case "expose":
      out = { ...inst, ports: inst.ports.map(w) };
      break;
    case "user":
      out = { ...inst, user: w(inst.user) };
      break;
    case "workdir":
      out = { ...inst, path: w(inst.path) };
      break;
    case "stopsignal":
      out = { ...inst, signal: w(inst.signal) };
      break;
    case "volume": {
      const volumes = inst.volumes.map(w);
      if (volumes.some((v) => v.trim() === "")) throw locatedError(options.file ?? "Dockerfile", inst.location, "VOLUME specified can not be an empty string");
      out = { ...inst, volumes };
      break;
    }
    case "run": {
      let ssh = 0;
      try {
        out = { ...inst, mounts: inst.mountSpecs.map((m) => parseRunMount(m, w, m.includes("type=ssh") ? ssh++ : 0)) };
      } catch (e) {
        if (e instanceof InstructionError) throw locatedError(options.file ?? "Dockerfile", inst.location, e.message);
        throw e;
      }
      break;
    }
    default:
      out = inst;
  }
  return { instruction: out as T, matched, unmatched };
}

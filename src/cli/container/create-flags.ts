/** The flags `run` and `create` share (docker's container create flags), and their translation to engine options. */
import { readFileSync } from "node:fs";
import { invalidParameter } from "../../core/index.ts";
import type { ContainerCreateOptions } from "../../engine/container-create.ts";
import type { FlagSpec, ParsedFlags } from "../flags.ts";
import { flagBool, flagInt, flagList, flagString } from "../flags.ts";
import { parseBytes } from "../units.ts";

export const createFlags: FlagSpec[] = [
  { name: "add-host", type: "strings", description: "Add a custom host-to-IP mapping (host:ip)" },
  { name: "attach", short: "a", type: "strings", description: "Attach to STDIN, STDOUT or STDERR" },
  { name: "cap-add", type: "strings", description: "Add Linux capabilities" },
  { name: "cap-drop", type: "strings", description: "Drop Linux capabilities" },
  { name: "cpu-shares", short: "c", type: "int", description: "CPU shares (relative weight)" },
  { name: "cpus", type: "string", description: "Number of CPUs" },
  { name: "detach", short: "d", type: "bool", description: "Run container in background and print container ID" },
  { name: "dns", type: "strings", description: "Set custom DNS servers" },
  { name: "dns-option", type: "strings", description: "Set DNS options" },
  { name: "dns-search", type: "strings", description: "Set custom DNS search domains" },
  { name: "domainname", type: "string", description: "Container NIS domain name" },
  { name: "entrypoint", type: "string", description: "Overwrite the default ENTRYPOINT of the image" },
  { name: "env", short: "e", type: "strings", description: "Set environment variables" },
  { name: "env-file", type: "strings", description: "Read in a file of environment variables" },
  { name: "expose", type: "strings", description: "Expose a port or a range of ports" },
  { name: "hostname", short: "h", type: "string", description: "Container host name" },
  { name: "init", type: "bool", description: "Run an init inside the container that forwards signals and reaps processes" },
  { name: "interactive", short: "i", type: "bool", description: "Keep STDIN open even if not attached" },
  { name: "ip", type: "string", description: "IPv4 address (e.g., 172.30.100.104)" },
  { name: "label", short: "l", type: "strings", description: "Set meta data on a container" },
  { name: "memory", short: "m", type: "string", description: "Memory limit" },
  { name: "memory-swap", type: "string", description: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
  { name: "mount", type: "strings", description: "Attach a filesystem mount to the container" },
  { name: "name", type: "string", description: "Assign a name to the container" },
  { name: "network", type: "string", description: "Connect a container to a network", aliases: ["net"] },
  { name: "network-alias", type: "strings", description: "Add network-scoped alias for the container", aliases: ["net-alias"] },
  { name: "pids-limit", type: "int", description: "Tune container pids limit (set -1 for unlimited)" },
  { name: "platform", type: "string", description: "Set platform if server is multi-platform capable" },
  { name: "privileged", type: "bool", description: "Give extended privileges to this container" },
  { name: "publish", short: "p", type: "strings", description: "Publish a container's port(s) to the host" },
  { name: "publish-all", short: "P", type: "bool", description: "Publish all exposed ports to random ports" },
  { name: "pull", type: "string", description: 'Pull image before running ("always", "missing", "never")', default: "missing" },
  { name: "quiet", short: "q", type: "bool", description: "Suppress the pull output" },
  { name: "read-only", type: "bool", description: "Mount the container's root filesystem as read only" },
  { name: "restart", type: "string", description: "Restart policy to apply when a container exits", default: "no" },
  { name: "rm", type: "bool", description: "Automatically remove the container and its associated anonymous volumes when it exits" },
  { name: "runtime", type: "string", description: "Runtime to use for this container" },
  { name: "security-opt", type: "strings", description: "Security Options" },
  { name: "shm-size", type: "string", description: "Size of /dev/shm" },
  { name: "stop-signal", type: "string", description: "Signal to stop the container" },
  { name: "stop-timeout", type: "int", description: "Timeout (in seconds) to stop a container" },
  { name: "tmpfs", type: "strings", description: "Mount a tmpfs directory" },
  { name: "tty", short: "t", type: "bool", description: "Allocate a pseudo-TTY" },
  { name: "ulimit", type: "strings", description: "Ulimit options" },
  { name: "user", short: "u", type: "string", description: "Username or UID (format: <name|uid>[:<group|gid>])" },
  { name: "volume", short: "v", type: "strings", description: "Bind mount a volume" },
  { name: "volumes-from", type: "strings", description: "Mount volumes from the specified container(s)" },
  { name: "workdir", short: "w", type: "string", description: "Working directory inside the container" },
];

/** docker's --env-file: KEY=VALUE lines, KEY alone takes the value from the environment, # comments. */
export function readEnvFile(path: string, env: Readonly<Record<string, string | undefined>>): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw invalidParameter(`open ${path}: no such file or directory`, { cause: err });
  }
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq === 0) throw invalidParameter(`invalid environment variable: ${line}`);
    if (eq < 0) {
      const v = env[line.trim()];
      if (v !== undefined) out.push(`${line.trim()}=${v}`);
    } else out.push(line.replace(/\r$/, ""));
  }
  return out;
}

function parseUlimit(s: string): { Name: string; Soft: number; Hard: number } {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(s);
  if (m === null) throw invalidParameter(`invalid ulimit argument: ${s}`);
  const soft = Number(m[2]);
  return { Name: m[1]!, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) };
}

function parseMountFlag(s: string): NonNullable<ContainerCreateOptions["mounts"]>[number] {
  const kv: Record<string, string> = {};
  let readOnly = false;
  for (const part of s.split(",")) {
    const [k = "", v] = part.split("=", 2);
    const key = k.trim().toLowerCase();
    if (key === "readonly" || key === "ro") readOnly = v === undefined || v === "true" || v === "1";
    else kv[key] = v ?? "";
  }
  const type = (kv["type"] ?? "volume") as "bind" | "volume" | "tmpfs";
  const target = kv["target"] ?? kv["destination"] ?? kv["dst"];
  if (target === undefined) throw invalidParameter("target is required");
  const source = kv["source"] ?? kv["src"] ?? "";
  if (type === "bind") {
    if (source === "") throw invalidParameter(`invalid mount config for type "bind": field Source must not be empty`);
    return { Type: "bind", Source: source, Target: target, ReadOnly: readOnly };
  }
  if (type === "tmpfs") {
    const opts: string[] = [];
    if (kv["tmpfs-size"] !== undefined) opts.push(`size=${kv["tmpfs-size"]}`);
    if (kv["tmpfs-mode"] !== undefined) opts.push(`mode=${kv["tmpfs-mode"]}`);
    return { Type: "tmpfs", Source: "", Target: target, ReadOnly: readOnly, Options: opts };
  }
  if (type !== "volume") throw invalidParameter(`invalid mount type: ${String(type)}`);
  const nocopy = kv["volume-nocopy"] !== undefined && kv["volume-nocopy"] !== "false" && kv["volume-nocopy"] !== "0";
  return { Type: "volume", Source: "", Name: source, Target: target, ReadOnly: readOnly, ...(nocopy ? { Options: ["nocopy"] } : {}) };
}

/** Builds the engine's create options from the parsed flags and the positional [IMAGE, COMMAND...]. */
export function createOptions(p: ParsedFlags, env: Readonly<Record<string, string | undefined>>): ContainerCreateOptions {
  const [image, ...cmd] = p.args;
  if (image === undefined) throw invalidParameter("requires at least 1 argument");
  const envs = [...flagList(p, "env-file").flatMap((f) => readEnvFile(f, env)), ...flagList(p, "env").map((e) => (e.includes("=") ? e : env[e] === undefined ? "" : `${e}=${env[e]}`)).filter((e) => e !== "")];
  const labels: Record<string, string> = {};
  for (const l of flagList(p, "label")) {
    const eq = l.indexOf("=");
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  const tmpfs: Record<string, string> = {};
  for (const t of flagList(p, "tmpfs")) {
    const i = t.indexOf(":");
    tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? "" : t.slice(i + 1);
  }
  const attach = flagList(p, "attach").map((a) => a.toLowerCase());
  for (const a of attach) if (!["stdin", "stdout", "stderr"].includes(a)) throw invalidParameter(`invalid argument "${a}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR`);
  const detach = flagBool(p, "detach");
  const interactive = flagBool(p, "interactive");
  const str = (k: string): string | undefined => {
    const v = flagString(p, k);
    return v === undefined || v === "" ? undefined : v;
  };
  const cpus = str("cpus");
  const memory = str("memory");
  const memorySwap = str("memory-swap");
  const shm = str("shm-size");
  const out: ContainerCreateOptions = {
    image,
    ...(cmd.length > 0 ? { cmd } : {}),
    ...(flagString(p, "entrypoint") !== undefined ? { entrypoint: flagString(p, "entrypoint")! } : {}),
    env: envs,
    ...(str("name") === undefined ? {} : { name: str("name")! }),
    ...(str("user") === undefined ? {} : { user: str("user")! }),
    ...(str("workdir") === undefined ? {} : { workdir: str("workdir")! }),
    ...(str("hostname") === undefined ? {} : { hostname: str("hostname")! }),
    ...(str("domainname") === undefined ? {} : { domainname: str("domainname")! }),
    tty: flagBool(p, "tty"),
    openStdin: interactive,
    attach:
      attach.length > 0
        ? { stdin: attach.includes("stdin"), stdout: attach.includes("stdout"), stderr: attach.includes("stderr") }
        : { stdin: !detach && interactive, stdout: !detach, stderr: !detach },
    labels,
    capAdd: flagList(p, "cap-add"),
    capDrop: flagList(p, "cap-drop"),
    privileged: flagBool(p, "privileged"),
    readOnly: flagBool(p, "read-only"),
    securityOpt: flagList(p, "security-opt"),
    ...(memory === undefined ? {} : { memory: parseBytes(memory) }),
    ...(memorySwap === undefined ? {} : { memorySwap: memorySwap === "-1" ? -1 : parseBytes(memorySwap) }),
    ...(cpus === undefined ? {} : { cpus: Number(cpus) }),
    ...(flagInt(p, "cpu-shares") === undefined ? {} : { cpuShares: flagInt(p, "cpu-shares")! }),
    ...(flagInt(p, "pids-limit") === undefined ? {} : { pidsLimit: flagInt(p, "pids-limit")! }),
    ulimits: flagList(p, "ulimit").map(parseUlimit),
    ...(shm === undefined ? {} : { shmSize: parseBytes(shm) }),
    ...(p.set.has("init") ? { init: flagBool(p, "init") } : {}),
    ...(str("stop-signal") === undefined ? {} : { stopSignal: str("stop-signal")! }),
    ...(flagInt(p, "stop-timeout") === undefined ? {} : { stopTimeout: flagInt(p, "stop-timeout")! }),
    autoRemove: flagBool(p, "rm"),
    publish: flagList(p, "publish"),
    publishAll: flagBool(p, "publish-all"),
    ...(str("network") === undefined ? {} : { network: str("network")! }),
    networkAliases: flagList(p, "network-alias"),
    ...(str("ip") === undefined ? {} : { ip: str("ip")! }),
    dns: flagList(p, "dns"),
    dnsSearch: flagList(p, "dns-search"),
    dnsOptions: flagList(p, "dns-option"),
    addHosts: flagList(p, "add-host"),
    binds: flagList(p, "volume"),
    mounts: flagList(p, "mount").map(parseMountFlag),
    tmpfs,
    volumesFrom: flagList(p, "volumes-from"),
    ...(str("restart") === undefined ? {} : { restart: str("restart")! }),
    ...(str("runtime") === undefined ? {} : { runtime: str("runtime")! }),
  };
  if (cpus !== undefined && !(Number(cpus) > 0)) throw invalidParameter(`invalid argument "${cpus}" for "--cpus" flag: failed to parse ${cpus} as a rational number`);
  const expose = flagList(p, "expose");
  return expose.length === 0 ? out : { ...out, expose };
}

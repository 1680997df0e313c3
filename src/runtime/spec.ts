/**
 * OCI runtime config.json from an image config plus `docker run` options,
 * with Docker's semantics (moby daemon/oci_linux.go, oci/defaults.go,
 * daemon/create.go; runc libcontainer/user). `buildSpec` is pure: the
 * I/O it needs (the user from the rootfs's /etc/passwd, the host's facts)
 * is done first by `resolveUser` and `probeHost`; `prepareSpec` does both.
 *
 * Rules implemented (each has a table test in spec.test.ts):
 * - command: --entrypoint (even "") drops the image Cmd; args replace Cmd;
 *   otherwise image Entrypoint + Cmd; empty → invalid-parameter "No command specified".
 * - env: PATH default (if the merged env has none), HOSTNAME, TERM=xterm with -t,
 *   then image Env overridden key by key by -e ("KEY" without "=" removes KEY); HOME from passwd if unset.
 * - user from -u or image User, resolved in the rootfs (see user.ts).
 * - capabilities: Docker's 14 defaults, --cap-add/--cap-drop (ALL, CAP_ prefix optional,
 *   case-insensitive), privileged = all; inheritable and ambient empty (as Docker since 20.10.14).
 * - masked and read-only /proc and /sys paths (none when privileged).
 * - default mounts /proc /dev /dev/pts /dev/shm (--shm-size, 64m) /dev/mqueue /sys (ro) /sys/fs/cgroup (ro);
 *   caller mounts replace a default at the same destination and are sorted parents-first.
 * - device cgroup allowlist; privileged: all devices, host device nodes.
 * - namespaces pid ipc uts mount network(path|host|new) and cgroup on cgroup v2 only.
 * - rlimits never above the host's hard limits: Docker's nofile default 1048576 is clamped;
 *   an explicit --ulimit above it is invalid-parameter (the runtime would fail with EPERM).
 * - resources: memory, memory+swap (default 2×memory; -1 unlimited; omitted without swap accounting),
 *   cpus → quota/period 100000, shares, pids.
 * - seccomp default profile (seccomp-default.ts) unless privileged or "unconfined".
 * - no-new-privileges, read-only rootfs, hostname (default: short id, or the host's with --network host)/domainname, --init (tini as /sbin/docker-init, PID 1).
 */
import { readFile, readdir, stat } from "node:fs/promises";
import { posix } from "node:path";
import { arch as osArch, hostname as osHostname, release } from "node:os";
import type { ContainerConfig } from "../oci/types.ts";
import { invalidParameter } from "../core/errors.ts";
import type { OciDevice, OciDeviceCgroup, OciMount, OciNamespace, OciRlimit, OciSpec } from "./oci-spec.ts";
import { defaultSeccompProfile } from "./seccomp-default.ts";
import { resolveUser, type ExecUser } from "./user.ts";

export interface ContainerSpecInput {
  id: string;
  /** Absolute host path of the mounted rootfs. */
  rootfs: string;
  image: ContainerConfig;
  /** --entrypoint; [] or [""] clears the image entrypoint. Either way the image Cmd is dropped. */
  entrypoint?: string[] | undefined;
  /** Arguments after the image name; [] means none given. */
  cmd?: string[] | undefined;
  env?: string[] | undefined;
  user?: string | undefined;
  workdir?: string | undefined;
  /** Default: the first 12 characters of the id. */
  hostname?: string | undefined;
  domainname?: string | undefined;
  tty?: boolean | undefined;
  openStdin?: boolean | undefined;
  capAdd?: string[] | undefined;
  capDrop?: string[] | undefined;
  privileged?: boolean | undefined;
  readOnly?: boolean | undefined;
  noNewPrivileges?: boolean | undefined;
  /** Bytes. */
  memory?: number | undefined;
  /** Bytes of memory+swap (Docker's --memory-swap); -1 unlimited. */
  memorySwap?: number | undefined;
  cpus?: number | undefined;
  cpuShares?: number | undefined;
  /** 0 or negative: unlimited. */
  pidsLimit?: number | undefined;
  ulimits?: { name: string; soft: number; hard: number }[] | undefined;
  /** Bytes; default 64 MiB. */
  shmSize?: number | undefined;
  init?: boolean | undefined;
  labels?: Record<string, string> | undefined;
  mounts?: { source: string; destination: string; type: string; options: string[] }[] | undefined;
  /** A netns path to join, "host", or "none" (a fresh namespace with only lo). Default "none". */
  netns?: string | undefined;
  /** cgroupfs parent; default "/berth". */
  cgroupParent?: string | undefined;
  seccomp?: "default" | "unconfined" | undefined;
}

export interface HostFacts {
  cgroupVersion: 1 | 2 | "hybrid";
  /** Hard limit of RLIMIT_NOFILE of this process: a container may not ask above it. */
  nofileHardLimit: number;
  /** Hard limits by rlimit name ("nofile", "nproc", ...); Infinity for unlimited. */
  hardLimits: Readonly<Record<string, number>>;
  /** Whether this process may raise hard limits (CAP_SYS_RESOURCE). */
  canRaiseLimits: boolean;
  /** memory.memsw.* present (v1) or memory.swap.max (v2). */
  swapAccounting: boolean;
  /** /proc/sys/kernel/cap_last_cap. */
  capLastCap: number;
  /**
   * The capabilities this process may grant (its bounding set). A container
   * can never get more: --privileged and --cap-add ALL get all of these. On
   * these machines CAP_SYS_RESOURCE is outside it.
   */
  capBoundingSet?: readonly string[] | undefined;
  arch: string;
  kernel: readonly [number, number];
  /** Static init binary for --init (tini-static), if found. */
  initPath?: string | undefined;
  /** The host's hostname: the default for --network host. */
  hostname?: string | undefined;
  /** Host device nodes, for --privileged. */
  devices?: readonly OciDevice[] | undefined;
}

export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const DEFAULT_NOFILE = 1048576;
const CPU_PERIOD = 100000;
const INIT_PATH_IN_CONTAINER = "/sbin/docker-init";

/** Docker's default capability set (moby oci/caps/defaults.go), exactly. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/** Every capability, indexed by its number (linux/capability.h). */
export const ALL_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
  "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
  "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
  "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
];

/** moby oci/defaults.go masked paths. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
  "/sys/devices/virtual/powercap",
];
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
];

/** Device cgroup rules: deny all, then the nodes every container gets (runc's AllowedDevices). */
const DEFAULT_DEVICE_RULES: readonly OciDeviceCgroup[] = [
  { allow: false, access: "rwm" },
  { allow: true, type: "c", access: "m" },
  { allow: true, type: "b", access: "m" },
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 5, minor: 1, access: "rwm" }, // console
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // pts/*
  { allow: true, type: "c", major: 10, minor: 200, access: "rwm" }, // net/tun
];

/** Normalises "sys_admin", "CAP_SYS_ADMIN", "all" to canonical names. */
function normalizeCap(c: string): string {
  const up = c.trim().toUpperCase();
  if (up === "ALL") return "ALL";
  return up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/**
 * Docker's capability arithmetic (moby oci/caps TweakCapabilities):
 * --cap-add ALL starts from every capability (then --cap-drop applies);
 * --cap-drop ALL starts from none (then --cap-add applies); else defaults + add − drop.
 * @throws invalid-parameter `unknown capability: "CAP_X"`
 */
export function computeCapabilities(o: { capAdd?: readonly string[] | undefined; capDrop?: readonly string[] | undefined; privileged?: boolean | undefined }, capLastCap = ALL_CAPABILITIES.length - 1): string[] {
  const known = ALL_CAPABILITIES.slice(0, capLastCap + 1);
  if (o.privileged === true) return [...known];
  const add = (o.capAdd ?? []).map(normalizeCap);
  const drop = (o.capDrop ?? []).map(normalizeCap);
  for (const c of [...add, ...drop]) {
    if (c !== "ALL" && !ALL_CAPABILITIES.includes(c)) throw invalidParameter(`unknown capability: "${c}"`);
  }
  let caps: string[];
  if (add.includes("ALL")) {
    caps = drop.includes("ALL") ? [] : known.filter((c) => !drop.includes(c));
    if (drop.includes("ALL")) caps = [];
  } else if (drop.includes("ALL")) {
    caps = add.filter((c) => c !== "ALL");
  } else {
    caps = [...DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c)), ...add.filter((c) => !DEFAULT_CAPABILITIES.includes(c) && !drop.includes(c))];
  }
  return [...new Set(caps)].filter((c) => known.includes(c));
}

/** Merges "K=V" lists: later keys replace earlier ones in place; a bare "K" removes K (moby ReplaceOrAppendEnvValues). */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  const keyOf = (e: string): string => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e);
  for (const o of overrides) {
    const k = keyOf(o);
    const i = out.findIndex((e) => keyOf(e) === k);
    if (!o.includes("=")) {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = o;
    else out.push(o);
  }
  return out;
}

function hasEnv(env: readonly string[], key: string): boolean {
  return env.some((e) => e.startsWith(`${key}=`));
}

/**
 * The process arguments from image and run options (moby daemon create/merge).
 * @throws invalid-parameter "No command specified"
 */
export function computeArgs(image: ContainerConfig, entrypoint: readonly string[] | undefined, cmd: readonly string[] | undefined): string[] {
  const userCmd = cmd !== undefined && cmd.length > 0 ? [...cmd] : undefined;
  let ep: string[];
  let args: string[];
  if (entrypoint !== undefined) {
    ep = entrypoint.length === 1 && entrypoint[0] === "" ? [] : [...entrypoint];
    args = userCmd ?? []; // --entrypoint drops the image's Cmd
  } else {
    ep = [...(image.Entrypoint ?? [])];
    args = userCmd ?? [...(image.Cmd ?? [])];
  }
  const all = [...ep, ...args];
  if (all.length === 0) throw invalidParameter("No command specified");
  return all;
}

const RLIMIT_NAMES: Readonly<Record<string, string>> = {
  core: "RLIMIT_CORE", cpu: "RLIMIT_CPU", data: "RLIMIT_DATA", fsize: "RLIMIT_FSIZE", locks: "RLIMIT_LOCKS",
  memlock: "RLIMIT_MEMLOCK", msgqueue: "RLIMIT_MSGQUEUE", nice: "RLIMIT_NICE", nofile: "RLIMIT_NOFILE",
  nproc: "RLIMIT_NPROC", rss: "RLIMIT_RSS", rtprio: "RLIMIT_RTPRIO", rttime: "RLIMIT_RTTIME",
  sigpending: "RLIMIT_SIGPENDING", stack: "RLIMIT_STACK", as: "RLIMIT_AS",
};
/** Marker for an unlimited rlimit; serializeSpec writes it as the uint64 RLIM_INFINITY, which a JS number cannot hold. */
export const RLIM_INFINITY = -1;

function computeRlimits(input: ContainerSpecInput, host: HostFacts): OciRlimit[] {
  const byType = new Map<string, OciRlimit>();
  const nofileMax = Math.min(DEFAULT_NOFILE, host.nofileHardLimit);
  byType.set("RLIMIT_NOFILE", { type: "RLIMIT_NOFILE", soft: nofileMax, hard: nofileMax });
  for (const u of input.ulimits ?? []) {
    const type = RLIMIT_NAMES[u.name.toLowerCase()];
    if (type === undefined) throw invalidParameter(`invalid ulimit type: ${u.name}`);
    const soft = u.soft < 0 ? RLIM_INFINITY : u.soft;
    const hard = u.hard < 0 ? RLIM_INFINITY : u.hard;
    const hostHard = host.hardLimits[u.name.toLowerCase()] ?? Infinity;
    const hardValue = hard === RLIM_INFINITY ? Infinity : hard;
    if (soft !== RLIM_INFINITY && hard !== RLIM_INFINITY && soft > hard) {
      throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${u.soft} > ${u.hard}`);
    }
    if (!host.canRaiseLimits && hostHard !== Infinity && hardValue > hostHard) {
      throw invalidParameter(`ulimit ${u.name}: hard limit ${u.hard} exceeds the host's hard limit ${hostHard}, which this process cannot raise`);
    }
    byType.set(type, { type, soft, hard });
  }
  return [...byType.values()];
}

function depth(p: string): number {
  return posix.normalize(p).split("/").filter((c) => c !== "").length;
}

function defaultMounts(shmSize: number, privileged: boolean): OciMount[] {
  const ro = privileged ? [] : ["ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", ...ro] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", ...ro] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${shmSize}`] },
  ];
}

/**
 * Builds config.json. Pure: `user` is the resolved -u / image User (see resolveUser).
 * @throws invalid-parameter for a missing command, unknown capability, relative workdir,
 *         bad ulimit, or --init without an init binary on the host
 */
export function buildSpec(input: ContainerSpecInput, host: HostFacts, user: ExecUser): OciSpec {
  const privileged = input.privileged === true;
  const tty = input.tty === true;
  let args = computeArgs(input.image, input.entrypoint, input.cmd);

  const workdir = input.workdir !== undefined && input.workdir !== "" ? input.workdir : input.image.WorkingDir !== undefined && input.image.WorkingDir !== "" ? input.image.WorkingDir : "/";
  if (!workdir.startsWith("/")) throw invalidParameter(`the working directory '${workdir}' is invalid, it needs to be an absolute path`);

  // Docker: --network host defaults the hostname to the host's; otherwise the short id.
  const defaultHostname = input.netns === "host" && host.hostname !== undefined ? host.hostname : input.id.slice(0, 12);
  const hostname = input.hostname !== undefined && input.hostname !== "" ? input.hostname : defaultHostname;
  const configEnv = mergeEnv(input.image.Env ?? [], input.env ?? []);
  // moby CreateDaemonEnvironment: PATH and HOSTNAME first, the config env replaces them in place.
  const daemonEnv: string[] = [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${hostname}`];
  if (tty) daemonEnv.push("TERM=xterm");
  const env = mergeEnv(daemonEnv, configEnv);
  if (!hasEnv(env, "HOME")) env.push(`HOME=${user.home}`);

  const bounding = host.capBoundingSet;
  const caps = computeCapabilities(input, host.capLastCap).filter((c) => bounding === undefined || bounding.includes(c));

  const mounts: OciMount[] = [];
  if (input.init === true) {
    if (host.initPath === undefined) throw invalidParameter("--init: no init binary (tini-static) found on the host");
    args = [INIT_PATH_IN_CONTAINER, "--", ...args];
  }
  const userMounts = [...(input.mounts ?? [])].sort((a, b) => depth(a.destination) - depth(b.destination));
  const taken = new Set(userMounts.map((m) => posix.normalize(m.destination)));
  for (const m of defaultMounts(input.shmSize ?? DEFAULT_SHM_SIZE, privileged)) {
    if (!taken.has(m.destination)) mounts.push(m);
  }
  if (input.init === true && host.initPath !== undefined && !taken.has(INIT_PATH_IN_CONTAINER)) {
    mounts.push({ destination: INIT_PATH_IN_CONTAINER, type: "bind", source: host.initPath, options: ["rbind", "ro"] });
  }
  for (const m of userMounts) mounts.push({ destination: m.destination, type: m.type, source: m.source, options: [...m.options] });

  const namespaces: OciNamespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  const netns = input.netns ?? "none";
  if (netns === "none") namespaces.push({ type: "network" });
  else if (netns !== "host") namespaces.push({ type: "network", path: netns });
  if (host.cgroupVersion === 2) namespaces.push({ type: "cgroup" });

  const resources: NonNullable<OciSpec["linux"]["resources"]> = {
    devices: privileged ? [{ allow: true, access: "rwm" }] : DEFAULT_DEVICE_RULES.map((d) => ({ ...d })),
  };
  if (input.memory !== undefined && input.memory > 0) {
    resources.memory = { limit: input.memory };
    if (host.swapAccounting) {
      if (input.memorySwap === -1) resources.memory.swap = -1;
      else if (input.memorySwap !== undefined && input.memorySwap > 0) {
        if (input.memorySwap < input.memory) throw invalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage");
        resources.memory.swap = input.memorySwap;
      } else resources.memory.swap = input.memory * 2;
    }
  } else if (input.memorySwap !== undefined && input.memorySwap > 0) {
    throw invalidParameter("You should always set the Memory limit when using Memoryswap limit, see usage");
  }
  if ((input.cpus !== undefined && input.cpus > 0) || (input.cpuShares !== undefined && input.cpuShares > 0)) {
    resources.cpu = {};
    if (input.cpus !== undefined && input.cpus > 0) {
      resources.cpu.quota = Math.round(input.cpus * CPU_PERIOD);
      resources.cpu.period = CPU_PERIOD;
    }
    if (input.cpuShares !== undefined && input.cpuShares > 0) resources.cpu.shares = input.cpuShares;
  }
  if (input.pidsLimit !== undefined && input.pidsLimit > 0) resources.pids = { limit: input.pidsLimit };

  const spec: OciSpec = {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: [...user.additionalGids] },
      args,
      env,
      cwd: workdir,
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], inheritable: [] },
      rlimits: computeRlimits(input, host),
      noNewPrivileges: input.noNewPrivileges === true,
      oomScoreAdj: 0,
    },
    root: { path: input.rootfs, readonly: input.readOnly === true },
    hostname,
    mounts,
    linux: {
      namespaces,
      resources,
      cgroupsPath: `${input.cgroupParent ?? "/berth"}/${input.id}`,
      maskedPaths: privileged ? [] : [...DEFAULT_MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...DEFAULT_READONLY_PATHS],
    },
  };
  if (input.domainname !== undefined && input.domainname !== "") spec.domainname = input.domainname;
  if (privileged && host.devices !== undefined) spec.linux.devices = host.devices.map((d) => ({ ...d }));
  if (!privileged && input.seccomp !== "unconfined") {
    spec.linux.seccomp = defaultSeccompProfile({ capabilities: caps, arch: host.arch, kernel: host.kernel });
  }
  if (input.labels !== undefined && Object.keys(input.labels).length > 0) spec.annotations = { ...input.labels };
  return spec;
}

/** config.json text for a spec (writes RLIM_INFINITY as 18446744073709551615). */
export function serializeSpec(spec: OciSpec): string {
  const marker = "\u0000rlim-infinity\u0000";
  const text = JSON.stringify(spec, (key, value: unknown) => ((key === "soft" || key === "hard") && value === RLIM_INFINITY ? marker : value), 2);
  return text.replaceAll(JSON.stringify(marker), "18446744073709551615");
}

/** Resolves the user in the rootfs, then builds the spec. */
export async function prepareSpec(input: ContainerSpecInput, host: HostFacts): Promise<{ spec: OciSpec; user: ExecUser }> {
  const user = await resolveUser(input.rootfs, input.user !== undefined && input.user !== "" ? input.user : input.image.User ?? "");
  return { spec: buildSpec(input, host, user), user };
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

function parseLimits(text: string): Record<string, number> {
  const map: Record<string, string> = {
    "Max cpu time": "cpu", "Max file size": "fsize", "Max data size": "data", "Max stack size": "stack",
    "Max core file size": "core", "Max resident set": "rss", "Max processes": "nproc", "Max open files": "nofile",
    "Max locked memory": "memlock", "Max address space": "as", "Max file locks": "locks",
    "Max pending signals": "sigpending", "Max msgqueue size": "msgqueue", "Max nice priority": "nice",
    "Max realtime priority": "rtprio", "Max realtime timeout": "rttime",
  };
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    for (const [label, name] of Object.entries(map)) {
      if (!line.startsWith(label)) continue;
      const cols = line.slice(label.length).trim().split(/\s+/);
      const hard = cols[1];
      if (hard !== undefined) out[name] = hard === "unlimited" ? Infinity : Number(hard);
    }
  }
  return out;
}

async function hostDevices(): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = posix.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "pts" && e.name !== "shm" && e.name !== "mqueue") await walk(p);
        continue;
      }
      if (!e.isCharacterDevice() && !e.isBlockDevice()) continue;
      if (p === "/dev/console" || p === "/dev/ptmx") continue;
      const st = await stat(p).catch(() => undefined);
      if (st === undefined) continue;
      const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn) | Number((BigInt(st.rdev) >> 32n) & ~0xfffn);
      const minor = Number(BigInt(st.rdev) & 0xffn) | Number((BigInt(st.rdev) >> 12n) & ~0xffn);
      out.push({ type: e.isCharacterDevice() ? "c" : "b", path: p, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
    }
  };
  await walk("/dev");
  return out;
}

/** Reads the facts buildSpec needs from this host. */
export async function probeHost(): Promise<HostFacts> {
  const [limitsText, capLast, unified, rootIsCg2] = await Promise.all([
    readFile("/proc/self/limits", "utf8").catch(() => ""),
    readFile("/proc/sys/kernel/cap_last_cap", "utf8").catch(() => String(ALL_CAPABILITIES.length - 1)),
    exists("/sys/fs/cgroup/unified/cgroup.controllers").then(async (u) => u || (await exists("/sys/fs/cgroup/unified/cgroup.procs"))),
    exists("/sys/fs/cgroup/cgroup.controllers"),
  ]);
  const cgroupVersion: HostFacts["cgroupVersion"] = rootIsCg2 ? 2 : unified ? "hybrid" : 1;
  const hardLimits = parseLimits(limitsText);
  const swapAccounting = cgroupVersion === 2 ? true : await exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
  let canRaiseLimits = false;
  let capBoundingSet: string[] | undefined;
  try {
    const status = await readFile("/proc/self/status", "utf8");
    const eff = /CapEff:\s*([0-9a-f]+)/.exec(status)?.[1];
    canRaiseLimits = eff !== undefined && ((BigInt(`0x${eff}`) >> 24n) & 1n) === 1n; // CAP_SYS_RESOURCE = 24
    const bnd = /CapBnd:\s*([0-9a-f]+)/.exec(status)?.[1];
    if (bnd !== undefined) {
      const mask = BigInt(`0x${bnd}`);
      capBoundingSet = ALL_CAPABILITIES.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
    }
  } catch {
    /* keep false */
  }
  const m = /^(\d+)\.(\d+)/.exec(release());
  const initPath = (await exists("/usr/bin/tini-static")) ? "/usr/bin/tini-static" : (await exists("/usr/bin/docker-init")) ? "/usr/bin/docker-init" : undefined;
  const a = osArch();
  return {
    cgroupVersion,
    nofileHardLimit: hardLimits["nofile"] ?? DEFAULT_NOFILE,
    hardLimits,
    canRaiseLimits,
    capBoundingSet,
    swapAccounting,
    capLastCap: Number(capLast.trim()),
    arch: a === "x64" ? "x86_64" : a === "arm64" ? "aarch64" : a,
    kernel: [Number(m?.[1] ?? 0), Number(m?.[2] ?? 0)],
    initPath,
    hostname: osHostname(),
    devices: await hostDevices(),
  };
}

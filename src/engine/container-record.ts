/**
 * Containers as berth records them (SQLite `containers`): an immutable
 * create-time config and a mutable state, each one JSON column, shaped like
 * the Engine API's ContainerInspect so that inspect is a projection.
 *
 * State machine (the engine owns it; runtime/ only reports):
 *
 *   created ──start──▶ running ──(exit)──▶ exited ──start──▶ running
 *      │                 │  ▲                 │
 *      │              pause│  │unpause          │
 *      │                 ▼  │                 │
 *      │                paused                │
 *      └────────────── rm ◀───────────────────┘   (rm -f also from running/paused)
 *
 * "Exited" is observed, not announced: conmon writes the exit code to
 * `<runDir>/exits/<id>` and runs `berth container cleanup <id>`; any berth
 * process that reads a running container also checks that file (refresh).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { conflict, invalidParameter, notFound } from "../core/index.ts";
import type { ContainerConfig } from "../oci/index.ts";
import type { EngineContext } from "./context.ts";

export type ContainerStatus = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead";

export interface PortBinding {
  readonly HostIp: string;
  readonly HostPort: string;
}

export interface MountSpec {
  readonly Type: "bind" | "volume" | "tmpfs";
  readonly Source: string;
  readonly Target: string;
  readonly ReadOnly: boolean;
  readonly Options?: readonly string[];
  /** Named volume name (Type volume). */
  readonly Name?: string;
}

export interface HostConfig {
  AutoRemove: boolean;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  PidsLimit: number | null;
  Ulimits: { Name: string; Soft: number; Hard: number }[] | null;
  ShmSize: number;
  Init: boolean | null;
  PortBindings: Record<string, PortBinding[]>;
  PublishAllPorts: boolean;
  NetworkMode: string;
  Binds: string[] | null;
  Mounts: MountSpec[];
  Tmpfs: Record<string, string>;
  SecurityOpt: string[] | null;
  RestartPolicy: { Name: string; MaximumRetryCount: number };
  Runtime: string;
  Dns: string[];
  DnsSearch: string[];
  DnsOptions: string[];
  ExtraHosts: string[] | null;
  VolumesFrom: string[] | null;
}

/** The create-time config (Engine API Config), plus what berth resolved at create. */
export interface ContainerCreateConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts: Record<string, object>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Labels: Record<string, string>;
  StopSignal: string;
  StopTimeout: number | null;
  HostConfig: HostConfig;
  /** Networks to join, with aliases and a static IP. */
  Networks: Record<string, { Aliases: string[]; IPAddress: string }>;
  /** What the user gave, kept to rebuild the spec on each start (docker keeps the merged result instead). */
  Berth: {
    /** The image's own container config, as it was at create. */
    imageConfig: ContainerConfig;
    /** --entrypoint as given (undefined = not given). */
    entrypoint?: string[];
    /** Arguments after the image (undefined = none given). */
    cmd?: string[];
    /** -e/--env-file as given. */
    env: string[];
    /** Overlay lower dirs, topmost first. */
    lowerDirs: string[];
    /** Volumes created for this container (anonymous ones are removed by rm -v). */
    anonymousVolumes: string[];
  };
}

export interface NetworkState {
  NetworkID: string;
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  Aliases: string[];
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** berth: conmon's pid while running. */
  MonitorPid: number;
  RestartCount: number;
  /** Resolved port mappings while running (host ports chosen for -P / port 0). */
  Ports: Record<string, PortBinding[]>;
  Networks: Record<string, NetworkState>;
  /** berth: the network namespace path while running. */
  NetnsPath: string;
  /** berth: rootfs mounted at containers/<id>/rootfs. */
  Mounted: boolean;
}

export interface ContainerRecord {
  readonly id: string;
  readonly name: string;
  readonly imageId: string;
  readonly created: string;
  readonly config: ContainerCreateConfig;
  readonly state: ContainerState;
}

export const ZERO_TIME = "0001-01-01T00:00:00Z";

export function initialState(): ContainerState {
  return {
    Status: "created",
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: "",
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
    MonitorPid: 0,
    RestartCount: 0,
    Ports: {},
    Networks: {},
    NetnsPath: "",
    Mounted: false,
  };
}

export function newContainerId(): string {
  return randomBytes(32).toString("hex");
}

/** Directory of a container's bundle, upper/work dirs and logs. */
export function containerDir(ctx: EngineContext, id: string): string {
  return join(ctx.config.root, "containers", id);
}

/** Per-container run-time directory (conmon's pidfile, exits, attach socket). */
export function containerRunDir(ctx: EngineContext, id: string): string {
  return join(ctx.config.runRoot, "containers", id);
}

export function containerLogPath(ctx: EngineContext, id: string): string {
  return join(containerDir(ctx, id), "ctr.log");
}

interface Row {
  id: string;
  name: string;
  image_id: string;
  config: string;
  state: string;
  created: string;
}

function toRecord(r: Row): ContainerRecord {
  return {
    id: r.id,
    name: r.name,
    imageId: r.image_id,
    created: r.created,
    config: JSON.parse(r.config) as ContainerCreateConfig,
    state: JSON.parse(r.state) as ContainerState,
  };
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): string {
  if (!NAME_RE.test(name)) throw invalidParameter(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, "");
}

export function insertContainer(ctx: EngineContext, rec: ContainerRecord): void {
  ctx.db.transaction(() => {
    const clash = ctx.db.db.prepare("SELECT id FROM containers WHERE name = ?").get(rec.name) as { id: string } | undefined;
    if (clash !== undefined) {
      throw conflict(
        `Conflict. The container name "/${rec.name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    ctx.db.db
      .prepare("INSERT INTO containers (id, name, image_id, config, state, created) VALUES (?, ?, ?, ?, ?, ?)")
      .run(rec.id, rec.name, rec.imageId, JSON.stringify(rec.config), JSON.stringify(rec.state), rec.created);
  });
}

export function getContainerById(ctx: EngineContext, id: string): ContainerRecord | undefined {
  const r = ctx.db.db.prepare("SELECT * FROM containers WHERE id = ?").get(id) as Row | undefined;
  return r === undefined ? undefined : toRecord(r);
}

/** Docker's lookup: full ID, then exact name, then a unique ID prefix. @throws not-found "No such container: x" */
export function findContainer(ctx: EngineContext, idOrName: string): ContainerRecord {
  const key = idOrName.replace(/^\//, "");
  const byId = getContainerById(ctx, key);
  if (byId !== undefined) return byId;
  const byName = ctx.db.db.prepare("SELECT * FROM containers WHERE name = ?").get(key) as Row | undefined;
  if (byName !== undefined) return toRecord(byName);
  if (/^[a-f0-9]+$/.test(key)) {
    const rows = ctx.db.db.prepare("SELECT * FROM containers WHERE id LIKE ? LIMIT 2").all(`${key}%`) as unknown as Row[];
    if (rows.length > 1) throw invalidParameter(`multiple IDs found with provided prefix: ${key}`);
    if (rows[0] !== undefined) return toRecord(rows[0]);
  }
  throw notFound(`No such container: ${idOrName}`);
}

export function listContainers(ctx: EngineContext): ContainerRecord[] {
  return (ctx.db.db.prepare("SELECT * FROM containers ORDER BY created DESC, id").all() as unknown as Row[]).map(toRecord);
}

/**
 * Updates a container's state in one transaction: `fn` sees the state as
 * stored now (another berth process may have changed it) and returns the new
 * one, or throws to refuse the transition.
 */
export function updateState(ctx: EngineContext, id: string, fn: (s: ContainerState, rec: ContainerRecord) => ContainerState): ContainerState {
  return ctx.db.transaction(() => {
    const rec = getContainerById(ctx, id);
    if (rec === undefined) throw notFound(`No such container: ${id}`);
    const next = fn(rec.state, rec);
    ctx.db.db.prepare("UPDATE containers SET state = ? WHERE id = ?").run(JSON.stringify(next), id);
    return next;
  });
}

export function renameContainer(ctx: EngineContext, id: string, newName: string): void {
  const name = validateName(newName);
  ctx.db.transaction(() => {
    const clash = ctx.db.db.prepare("SELECT id FROM containers WHERE name = ? AND id != ?").get(name, id) as { id: string } | undefined;
    if (clash !== undefined) {
      throw conflict(
        `Conflict. The container name "/${name}" is already in use by container "${clash.id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
    }
    ctx.db.db.prepare("UPDATE containers SET name = ? WHERE id = ?").run(name, id);
  });
}

export function deleteContainerRecord(ctx: EngineContext, id: string): void {
  ctx.db.db.prepare("DELETE FROM containers WHERE id = ?").run(id);
}

/** docker's "Up 5 minutes", "Exited (0) 2 hours ago", "Created" status text needs a clock; see cli. */
export function isActive(s: ContainerState): boolean {
  return s.Status === "running" || s.Status === "paused" || s.Status === "restarting";
}

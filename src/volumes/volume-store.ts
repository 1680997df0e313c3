/**
 * Named volumes with docker's "local" driver: a directory `<root>/volumes/<name>/_data`
 * per volume, recorded in SQLite (table `volumes`, migration 2 of state/database.ts).
 *
 * Lifecycle:
 *   create (idempotent for an existing name, as docker's) → used by containers (the engine
 *   bind-mounts `mountpoint(...)`, after `prepareUse`, which mounts a device volume and
 *   copies the image's content into an empty volume) → remove (the engine checks use first).
 *
 * Invariants:
 * - A row exists iff the volume exists; the directory is made before the row is written and
 *   removed after the row is deleted, so a crash leaves at worst an orphan directory, never
 *   a row without a directory.
 * - Anonymous volumes carry the label `com.docker.volume.anonymous` (docker 23+), which is how
 *   `volume prune` without -a finds them.
 * - Driver options `type`, `device`, `o` (docker local driver) make `prepareUse` mount the
 *   device on `_data` (e.g. `-o type=tmpfs -o device=tmpfs -o o=size=10m`); `remove` unmounts.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { conflict, invalidParameter, notFound, systemError } from "../core/errors.ts";
import type { Database } from "../state/index.ts";

export const ANONYMOUS_LABEL = "com.docker.volume.anonymous";
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const LOCAL_OPTIONS = new Set(["type", "device", "o", "size"]);

/** A volume as `volume inspect` shows it (Engine API field names). */
export interface VolumeRecord {
  readonly Name: string;
  readonly Driver: string;
  readonly Mountpoint: string;
  /** RFC 3339, seconds precision. */
  readonly CreatedAt: string;
  readonly Labels: Record<string, string>;
  readonly Options: Record<string, string> | null;
  readonly Scope: "local";
}

export interface VolumeCreateOptions {
  /** Empty or absent: a random 64-hex name (an anonymous volume when `anonymous`). */
  readonly name?: string;
  readonly driver?: string;
  readonly labels?: Record<string, string>;
  readonly options?: Record<string, string>;
  readonly anonymous?: boolean;
}

interface Row {
  name: string;
  driver: string;
  labels: string;
  options: string;
  created: string;
}

export class VolumeStore {
  readonly #db: Database;
  readonly #dir: string;
  readonly #now: () => Date;

  constructor(o: { db: Database; root: string; now?: () => Date }) {
    this.#db = o.db;
    this.#dir = join(o.root, "volumes");
    this.#now = o.now ?? (() => new Date());
  }

  /** `<root>/volumes/<name>/_data`. */
  mountpoint(name: string): string {
    return join(this.#dir, name, "_data");
  }

  /**
   * Creates the volume, or returns the existing one of that name (docker's behaviour;
   * a different driver is a conflict).
   * @throws invalid-parameter for a bad name, an unknown driver or driver option
   * @throws conflict when the name exists with another driver
   */
  async create(o: VolumeCreateOptions = {}): Promise<VolumeRecord> {
    const name = o.name === undefined || o.name === "" ? randomBytes(32).toString("hex") : o.name;
    if (!NAME_RE.test(name)) {
      throw invalidParameter(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
    }
    const driver = o.driver === undefined || o.driver === "" ? "local" : o.driver;
    if (driver !== "local") throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    for (const k of Object.keys(o.options ?? {})) {
      if (!LOCAL_OPTIONS.has(k)) throw invalidParameter(`create ${name}: invalid option key: "${k}"`);
    }
    const existing = this.find(name);
    if (existing !== undefined) {
      if (existing.Driver !== driver) throw conflict(`create ${name}: volume name already in use with driver ${existing.Driver}`);
      return existing;
    }
    await mkdir(this.mountpoint(name), { recursive: true, mode: 0o755 });
    const labels = { ...(o.labels ?? {}), ...(o.anonymous === true ? { [ANONYMOUS_LABEL]: "" } : {}) };
    const created = this.#now().toISOString().replace(/\.\d+Z$/, "Z");
    this.#db.transaction(() => {
      this.#db.db
        .prepare("INSERT OR IGNORE INTO volumes (name, driver, labels, options, created) VALUES (?, ?, ?, ?, ?)")
        .run(name, driver, JSON.stringify(labels), JSON.stringify(o.options ?? {}), created);
    });
    return this.get(name);
  }

  /** @throws not-found `get <name>: no such volume` */
  get(name: string): VolumeRecord {
    const v = this.find(name);
    if (v === undefined) throw notFound(`get ${name}: no such volume`);
    return v;
  }

  find(name: string): VolumeRecord | undefined {
    const r = this.#db.db.prepare("SELECT * FROM volumes WHERE name = ?").get(name) as Row | undefined;
    return r === undefined ? undefined : this.#toRecord(r);
  }

  list(): VolumeRecord[] {
    return (this.#db.db.prepare("SELECT * FROM volumes ORDER BY name").all() as unknown as Row[]).map((r) => this.#toRecord(r));
  }

  /**
   * Deletes the volume and its data. The caller has checked that no container uses it.
   * @throws not-found
   */
  async remove(name: string): Promise<void> {
    const v = this.get(name);
    if (v.Options?.["device"] !== undefined) await unmountIfMounted(this.mountpoint(name));
    this.#db.db.prepare("DELETE FROM volumes WHERE name = ?").run(name);
    await rm(join(this.#dir, name), { recursive: true, force: true });
  }

  /**
   * Readies a volume for a container mount: mounts a device volume if it is not mounted,
   * then, when the volume is empty and `copyFrom` names an existing directory, copies that
   * directory's content in, keeping owners, modes, timestamps, links and xattrs (docker's
   * copy-up of the image's path on first use). Returns the path to bind-mount.
   */
  async prepareUse(name: string, o: { copyFrom?: string; signal?: AbortSignal } = {}): Promise<string> {
    const v = this.get(name);
    const mp = this.mountpoint(name);
    await mkdir(mp, { recursive: true, mode: 0o755 });
    const opts = v.Options ?? {};
    if (opts["device"] !== undefined && !(await isMountPoint(mp))) {
      const args = ["-t", opts["type"] ?? "none", ...(opts["o"] !== undefined ? ["-o", opts["o"]] : []), opts["device"], mp];
      const r = await exec("mount", args, o.signal);
      if (r.code !== 0) throw systemError(`error while mounting volume '${mp}': ${r.stderr.trim()}`);
    }
    if (o.copyFrom !== undefined && (await isEmptyDir(mp)) && (await isDir(o.copyFrom))) {
      const r = await exec("cp", ["-a", "--", `${o.copyFrom}/.`, `${mp}/`], o.signal);
      if (r.code !== 0) throw systemError(`copy of image content to volume ${name} failed: ${r.stderr.trim()}`);
    }
    return mp;
  }

  #toRecord(r: Row): VolumeRecord {
    const options = JSON.parse(r.options) as Record<string, string>;
    // docker's key order
    return {
      CreatedAt: r.created,
      Driver: r.driver,
      Labels: JSON.parse(r.labels) as Record<string, string>,
      Mountpoint: this.mountpoint(r.name),
      Name: r.name,
      Options: Object.keys(options).length === 0 ? null : options,
      Scope: "local",
    };
  }
}

/** Whether a volume is anonymous (created for a VOLUME path or `-v /path`). */
export function isAnonymous(v: VolumeRecord): boolean {
  return Object.hasOwn(v.Labels, ANONYMOUS_LABEL);
}

/** Bytes used under a directory (for prune's reclaimed space), not following links. */
export async function diskUsage(dir: string): Promise<number> {
  const r = await exec("du", ["-s", "-B1", "-x", dir]);
  return r.code === 0 ? Number(r.stdout.split(/\s/)[0] ?? 0) || 0 : 0;
}

async function isEmptyDir(p: string): Promise<boolean> {
  try {
    return (await readdir(p)).length === 0;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  const { stat } = await import("node:fs/promises");
  return stat(p).then((s) => s.isDirectory(), () => false);
}

async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  return info.split("\n").some((l) => l.split(" ")[4] === path);
}

async function unmountIfMounted(path: string): Promise<void> {
  if (!(await isMountPoint(path))) return;
  const r = await exec("umount", [path]);
  if (r.code !== 0) throw systemError(`cannot unmount volume ${path}: ${r.stderr.trim()}`);
}

function exec(cmd: string, args: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...(signal === undefined ? {} : { signal }) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

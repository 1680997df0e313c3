/**
 * `create`: a container record from an image and run options (Docker's
 * semantics), with its writable layer prepared: the image's layers unpacked
 * once into the shared layer store and an empty upper directory of its own.
 * Nothing runs yet; `start` mounts, networks and runs it.
 */
import { mkdir, rm } from "node:fs/promises";
import { conflict, invalidParameter, throwIfAborted, type Digest } from "../core/index.ts";
import { decompress } from "../layers/index.ts";
import { parsePublish } from "../network/index.ts";
import type { EngineContext } from "./context.ts";
import {
  containerDir,
  initialState,
  insertContainer,
  newContainerId,
  validateName,
  type ContainerCreateConfig,
  type HostConfig,
  type MountSpec,
  type PortBinding,
} from "./container-record.ts";
import { randomName } from "./container-names.ts";
import { resolveImage } from "./image-resolve.ts";
import { loadImageView, recordLayerSize } from "./image-view.ts";
import { snapshotterOf } from "./services.ts";
import { resolveVolumeMounts } from "./volume-mounts.ts";
import { removeAnonymousVolumes } from "./volume-remove.ts";
import { chainIds } from "../snapshots/index.ts";

export interface ContainerCreateOptions {
  readonly image: string;
  readonly name?: string;
  /** Arguments after the image name (undefined: none given). */
  readonly cmd?: string[];
  /** --entrypoint (undefined: not given; "" clears). */
  readonly entrypoint?: string;
  readonly env?: string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly hostname?: string;
  readonly domainname?: string;
  readonly tty?: boolean;
  readonly openStdin?: boolean;
  readonly attach?: { stdin: boolean; stdout: boolean; stderr: boolean };
  readonly labels?: Record<string, string>;
  readonly capAdd?: string[];
  readonly capDrop?: string[];
  readonly privileged?: boolean;
  readonly readOnly?: boolean;
  readonly securityOpt?: string[];
  readonly memory?: number;
  readonly memorySwap?: number;
  readonly cpus?: number;
  readonly cpuShares?: number;
  readonly pidsLimit?: number;
  readonly ulimits?: { Name: string; Soft: number; Hard: number }[];
  readonly shmSize?: number;
  readonly init?: boolean;
  readonly stopSignal?: string;
  readonly stopTimeout?: number;
  readonly autoRemove?: boolean;
  /** --expose ports ("80", "80/udp", "8000-8010"). */
  readonly expose?: string[];
  /** -p specs as typed. */
  readonly publish?: string[];
  readonly publishAll?: boolean;
  /** --network: bridge (default), host, none, container:<id>, or a network name. */
  readonly network?: string;
  readonly networkAliases?: string[];
  readonly ip?: string;
  readonly dns?: string[];
  readonly dnsSearch?: string[];
  readonly dnsOptions?: string[];
  readonly addHosts?: string[];
  readonly binds?: string[];
  readonly mounts?: MountSpec[];
  readonly tmpfs?: Record<string, string>;
  readonly volumesFrom?: string[];
  readonly restart?: string;
  readonly runtime?: string;
  readonly signal?: AbortSignal;
}

export interface ContainerCreateReport {
  readonly Id: string;
  readonly Warnings: string[];
}

function parseRestart(s: string | undefined): { Name: string; MaximumRetryCount: number } {
  if (s === undefined || s === "" || s === "no") return { Name: "no", MaximumRetryCount: 0 };
  const [name = "", count] = s.split(":");
  if (!["always", "unless-stopped", "on-failure"].includes(name)) throw invalidParameter(`invalid restart policy: ${s}`);
  if (count !== undefined && name !== "on-failure") throw invalidParameter(`maximum retry count cannot be used with restart policy '${name}'`);
  return { Name: name, MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

function portBindings(publish: readonly string[]): Record<string, PortBinding[]> {
  const out: Record<string, PortBinding[]> = {};
  for (const spec of publish) {
    for (const m of parsePublish(spec)) {
      const key = `${m.containerPort}/${m.protocol}`;
      const hostPort = m.hostPort === 0 ? "" : m.hostPortEnd !== undefined ? `${m.hostPort}-${m.hostPortEnd}` : String(m.hostPort);
      (out[key] ??= []).push({ HostIp: m.hostIp, HostPort: hostPort });
    }
  }
  return out;
}

/** -v host:ctr[:ro] (bind), -v name:ctr[:ro,nocopy] (named volume), -v /ctr (anonymous volume). */
function bindMounts(binds: readonly string[]): MountSpec[] {
  return binds.map((b) => {
    const parts = b.split(":");
    if (parts.length === 1 && b.startsWith("/")) return { Type: "volume", Source: "", Name: "", Target: b, ReadOnly: false };
    const [src, dst, mode = ""] = parts;
    if (src === undefined || dst === undefined || parts.length > 3) throw invalidParameter(`invalid volume specification: '${b}'`);
    if (!dst.startsWith("/")) throw invalidParameter(`invalid volume specification: '${b}': invalid mount config for type "bind": invalid mount path: '${dst}' mount path must be absolute`);
    const opts = mode.split(",").filter((x) => x !== "");
    for (const o of opts) {
      if (!["ro", "rw", "z", "Z", "shared", "slave", "private", "rshared", "rslave", "rprivate", "nocopy"].includes(o)) {
        throw invalidParameter(`invalid mode: ${o}`);
      }
    }
    if (!src.startsWith("/")) {
      return { Type: "volume", Source: "", Name: src, Target: dst, ReadOnly: opts.includes("ro"), ...(opts.includes("nocopy") ? { Options: ["nocopy"] } : {}) };
    }
    return { Type: "bind", Source: src, Target: dst, ReadOnly: opts.includes("ro") };
  });
}

export async function containerCreate(ctx: EngineContext, o: ContainerCreateOptions): Promise<ContainerCreateReport> {
  throwIfAborted(o.signal);
  const { id: imageId } = resolveImage(ctx, o.image);
  const view = await loadImageView(ctx, imageId, o.signal === undefined ? {} : { signal: o.signal });
  const imageConfig = view.config.config ?? {};
  let name: string;
  if (o.name !== undefined && o.name !== "") name = validateName(o.name);
  else {
    name = randomName();
    for (let i = 1; ctx.db.db.prepare("SELECT 1 FROM containers WHERE name = ?").get(name) !== undefined; i++) name = randomName(i);
  }
  if (o.autoRemove === true && o.restart !== undefined && o.restart !== "" && o.restart !== "no") {
    throw conflict("Conflicting options: --restart and --rm");
  }
  const id = newContainerId();
  const network = o.network === undefined || o.network === "" || o.network === "default" ? "bridge" : o.network;
  if ((network === "host" || network === "none") && (o.publish ?? []).length > 0) {
    // docker warns and drops them for host; for none it is an error
    if (network === "none") throw invalidParameter("conflicting options: port publishing and the container type network mode");
  }
  const userNetwork = network !== "bridge" && network !== "host" && network !== "none" && !network.startsWith("container:");
  if (!userNetwork && (o.networkAliases ?? []).length > 0) {
    throw invalidParameter("network-scoped alias is supported only for containers in user defined networks");
  }
  if (!userNetwork && o.ip !== undefined && o.ip !== "") throw invalidParameter("user specified IP address is supported on user defined networks only");
  const requestedMounts = [...bindMounts(o.binds ?? []), ...(o.mounts ?? [])];
  const exposed: Record<string, object> = { ...(imageConfig.ExposedPorts ?? {}) };
  for (const e of o.expose ?? []) {
    const m = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(e);
    if (m === null) throw invalidParameter(`invalid range format for --expose: ${e}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let port = lo; port <= hi; port++) exposed[`${port}/${(m[3] ?? "tcp").toLowerCase()}`] = {};
  }
  const bindings = portBindings(o.publish ?? []);
  for (const k of Object.keys(bindings)) exposed[k] = {};

  // Unpack the image's layers once (shared), then give the container its own upper dir.
  const snap = snapshotterOf(ctx);
  const diffIds = view.config.rootfs.diff_ids as Digest[];
  const lowerDirs = await snap.ensureLayers({
    diffIds,
    open: async (i) => {
      const layer = view.manifest.layers[i];
      if (layer === undefined) throw invalidParameter(`image ${imageId} has fewer layers than diff IDs`);
      return decompress(await ctx.content.openRead(layer.digest), o.signal === undefined ? {} : { signal: o.signal });
    },
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  for (const chain of chainIds(diffIds)) {
    const meta = await snap.layerMeta(chain).catch(() => undefined);
    if (meta !== undefined) recordLayerSize(ctx, meta.diffId, meta.size);
  }
  const dir = containerDir(ctx, id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let anonymousVolumes: string[] = [];
  try {
    await snap.prepare({ containerDir: dir, lowerDirs });
    const resolved = await resolveVolumeMounts(ctx, {
      mounts: requestedMounts,
      imageVolumes: Object.keys((imageConfig.Volumes as Record<string, object> | undefined) ?? {}),
      volumesFrom: o.volumesFrom ?? [],
      tmpfsTargets: Object.keys(o.tmpfs ?? {}),
    });
    const mounts = resolved.mounts;
    anonymousVolumes = resolved.anonymous;
    const host: HostConfig = {
      AutoRemove: o.autoRemove === true,
      Privileged: o.privileged === true,
      ReadonlyRootfs: o.readOnly === true,
      CapAdd: o.capAdd === undefined || o.capAdd.length === 0 ? null : o.capAdd,
      CapDrop: o.capDrop === undefined || o.capDrop.length === 0 ? null : o.capDrop,
      Memory: o.memory ?? 0,
      MemorySwap: o.memorySwap ?? 0,
      NanoCpus: o.cpus === undefined ? 0 : Math.round(o.cpus * 1e9),
      CpuShares: o.cpuShares ?? 0,
      PidsLimit: o.pidsLimit ?? null,
      Ulimits: o.ulimits === undefined || o.ulimits.length === 0 ? null : o.ulimits,
      ShmSize: o.shmSize ?? 64 * 1024 * 1024,
      Init: o.init ?? null,
      PortBindings: bindings,
      PublishAllPorts: o.publishAll === true,
      NetworkMode: network,
      Binds: o.binds === undefined || o.binds.length === 0 ? null : o.binds,
      Mounts: mounts,
      Tmpfs: o.tmpfs ?? {},
      SecurityOpt: o.securityOpt === undefined || o.securityOpt.length === 0 ? null : o.securityOpt,
      RestartPolicy: parseRestart(o.restart),
      Runtime: o.runtime ?? "runc",
      Dns: o.dns ?? [],
      DnsSearch: o.dnsSearch ?? [],
      DnsOptions: o.dnsOptions ?? [],
      ExtraHosts: o.addHosts === undefined || o.addHosts.length === 0 ? null : o.addHosts,
      VolumesFrom: o.volumesFrom === undefined || o.volumesFrom.length === 0 ? null : o.volumesFrom,
    };
    const entrypoint = o.entrypoint === undefined ? undefined : o.entrypoint === "" ? [] : [o.entrypoint];
    const cmd = o.cmd === undefined || o.cmd.length === 0 ? undefined : o.cmd;
    const config: ContainerCreateConfig = {
      Hostname: o.hostname ?? (network === "host" ? "" : id.slice(0, 12)),
      Domainname: o.domainname ?? "",
      User: o.user ?? imageConfig.User ?? "",
      AttachStdin: o.attach?.stdin ?? false,
      AttachStdout: o.attach?.stdout ?? false,
      AttachStderr: o.attach?.stderr ?? false,
      ExposedPorts: exposed,
      Tty: o.tty === true,
      OpenStdin: o.openStdin === true,
      StdinOnce: o.openStdin === true && o.attach?.stdin === true,
      Env: mergedEnv(imageConfig.Env ?? [], o.env ?? []),
      Cmd: cmd ?? (entrypoint !== undefined ? null : (imageConfig.Cmd as string[] | null | undefined) ?? null),
      Entrypoint: entrypoint ?? (imageConfig.Entrypoint as string[] | null | undefined) ?? null,
      Image: o.image,
      Volumes: (imageConfig.Volumes as Record<string, object> | undefined) ?? null,
      WorkingDir: o.workdir ?? imageConfig.WorkingDir ?? "",
      Labels: { ...(imageConfig.Labels ?? {}), ...(o.labels ?? {}) },
      StopSignal: o.stopSignal ?? imageConfig.StopSignal ?? "SIGTERM",
      StopTimeout: o.stopTimeout ?? null,
      HostConfig: host,
      Networks:
        network === "host" || network === "none" || network.startsWith("container:")
          ? {}
          : { [network]: { Aliases: o.networkAliases ?? [], IPAddress: o.ip ?? "" } },
      Berth: {
        imageConfig,
        ...(entrypoint === undefined ? {} : { entrypoint }),
        ...(cmd === undefined ? {} : { cmd }),
        env: o.env ?? [],
        lowerDirs,
        anonymousVolumes,
      },
    };
    throwIfAborted(o.signal);
    insertContainer(ctx, { id, name, imageId, created: ctx.now().toISOString(), config, state: initialState() });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    await removeAnonymousVolumes(ctx, anonymousVolumes).catch(() => undefined);
    throw err;
  }
  return { Id: id, Warnings: [] };
}

function mergedEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  for (const e of overrides) {
    const k = e.split("=", 1)[0]!;
    const i = out.findIndex((x) => x.split("=", 1)[0] === k);
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

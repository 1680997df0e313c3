/**
 * `start`: mount the container's rootfs, join its network, write its OCI
 * bundle and hand it to conmon + runc. conmon stays behind as the
 * container's monitor and runs `berth container cleanup <id>` when it exits.
 * Any failure undoes what was done and records the error on the container
 * (which stays, as docker keeps it).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { conflict, isEngineError, notModified, systemError, type EngineError } from "../core/index.ts";
import type { PortMapping } from "../network/index.ts";
import { ensureWorkdir, prepareSpec, serializeSpec, type ContainerSpecInput } from "../runtime/index.ts";
import type { EngineContext } from "./context.ts";
import { releaseResources } from "./container-cleanup.ts";
import {
  containerDir,
  containerLogPath,
  containerRunDir,
  findContainer,
  updateState,
  type ContainerRecord,
  type NetworkState,
  type PortBinding,
} from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerServices } from "./services.ts";
import { refreshPeerHosts } from "./network-hosts.ts";
import { prepareVolumeMount } from "./volume-mounts.ts";

// The JavaScript entry: it serves type-stripped sources from a cache (src/bin/ts-cache.mjs).
const BERTH_ENTRY = fileURLToPath(new URL("../bin/berth.mjs", import.meta.url));

/** Port bindings of a record as the network module's mappings (-P adds every exposed port on a free host port). */
export function portMappings(rec: ContainerRecord): PortMapping[] {
  const out: PortMapping[] = [];
  const hc = rec.config.HostConfig;
  const bindings: Record<string, PortBinding[]> = { ...hc.PortBindings };
  if (hc.PublishAllPorts) {
    for (const k of Object.keys(rec.config.ExposedPorts)) bindings[k] ??= [{ HostIp: "", HostPort: "" }];
  }
  for (const [key, list] of Object.entries(bindings)) {
    const [portText = "", proto = "tcp"] = key.split("/");
    const containerPort = Number(portText);
    for (const b of list) {
      const [lo = "", hi] = b.HostPort.split("-");
      out.push({
        hostIp: b.HostIp === "0.0.0.0" ? "" : b.HostIp,
        hostPort: lo === "" ? 0 : Number(lo),
        ...(hi === undefined ? {} : { hostPortEnd: Number(hi) }),
        containerPort,
        protocol: proto === "udp" ? "udp" : "tcp",
      });
    }
  }
  return out;
}

/** Docker's exit code for a start that failed before the process ran. */
export function startFailureCode(message: string): number {
  if (/executable file not found|no such file or directory/i.test(message)) return 127;
  if (/permission denied|not an executable|exec format error/i.test(message)) return 126;
  return 128;
}

export interface ContainerStartOptions {
  readonly signal?: AbortSignal;
  /** Runs after conmon has created the container and before its process starts: attach here to miss no output. */
  readonly onCreated?: (info: { id: string; runDir: string; bundle: string }) => Promise<void>;
}

export async function containerStart(ctx: EngineContext, idOrName: string, o: ContainerStartOptions = {}): Promise<void> {
  let rec = await refreshContainer(ctx, findContainer(ctx, idOrName));
  if (rec.state.Status === "running") throw notModified("container already started");
  if (rec.state.Status === "paused") throw conflict("cannot start a paused container, try unpause instead");
  const svc = await containerServices(ctx);
  const dir = containerDir(ctx, rec.id);
  const runDir = containerRunDir(ctx, rec.id);
  const rootfs = join(dir, "rootfs");
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  const hc = rec.config.HostConfig;
  const mode = hc.NetworkMode;
  // Claim the start: a concurrent start by another process sees "running" and stops.
  let mountedAtClaim = false;
  updateState(ctx, rec.id, (s) => {
    if (s.Status === "running" || s.Status === "restarting") throw notModified("container already started");
    mountedAtClaim = s.Mounted;
    return { ...s, Status: "restarting", Error: "" };
  });
  let netnsPath = "";
  let networks: Record<string, NetworkState> = {};
  let ports: Record<string, PortBinding[]> = {};
  try {
    // 1. rootfs
    const mount = await svc.snapshotter.prepare({ containerDir: dir, lowerDirs: rec.config.Berth.lowerDirs });
    if (!(await svc.snapshotter.isMounted(rootfs))) {
      // Another berth process (a `cp` into the stopped container) may be mounting it right now.
      for (let i = 0; mountedAtClaim && i < 200 && !(await svc.snapshotter.isMounted(rootfs)); i++) await new Promise((r) => setTimeout(r, 50));
      if (!(await svc.snapshotter.isMounted(rootfs))) await svc.snapshotter.mount(mount, rootfs);
    }
    updateState(ctx, rec.id, (s) => ({ ...s, Mounted: true }));
    // 2. network
    let netns: string;
    if (mode === "host" || mode === "none") netns = mode;
    else if (mode.startsWith("container:")) {
      const other = findContainer(ctx, mode.slice("container:".length));
      if (other.state.Status !== "running" || other.state.Pid === 0) throw conflict(`cannot join network of a non running container: ${other.id}`);
      netns = other.state.NetnsPath !== "" ? other.state.NetnsPath : `/proc/${other.state.Pid}/ns/net`;
    } else {
      netnsPath = await svc.network.createNetns(rec.id);
      netns = netnsPath;
      updateState(ctx, rec.id, (s) => ({ ...s, NetnsPath: netnsPath }));
      const nets = Object.entries(rec.config.Networks).map(([name, n]) => ({
        name,
        aliases: [rec.name, ...n.Aliases],
        ...(n.IPAddress === "" ? {} : { ip: n.IPAddress }),
      }));
      const status = await svc.network.setup({ containerId: rec.id, netns, networks: nets, ports: portMappings(rec), ...sig });
      for (const [name, st] of Object.entries(status)) {
        networks[name] = { NetworkID: (await svc.network.inspect(name)).id, IPAddress: st.ip, IPPrefixLen: st.prefixLen, Gateway: st.gateway, MacAddress: st.mac, Aliases: nets.find((n) => n.name === name)?.aliases ?? [] };
        for (const p of st.ports ?? []) {
          (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp === "" ? "0.0.0.0" : p.hostIp, HostPort: String(p.hostPort) });
        }
      }
      updateState(ctx, rec.id, (s) => ({ ...s, Networks: networks, Ports: ports }));
    }
    // 3. /etc files
    const hostname = rec.config.Hostname === "" ? (await import("node:os")).hostname() : rec.config.Hostname;
    const files: { name: string; dest: string; text: string }[] = [];
    if (mode !== "host") files.push({ name: "hostname", dest: "/etc/hostname", text: `${hostname}\n` });
    files.push({
      name: "hosts",
      dest: "/etc/hosts",
      text:
        mode === "host"
          ? await (await import("node:fs/promises")).readFile("/etc/hosts", "utf8")
          : svc.network.hostsFile({ containerId: rec.id, hostname, ...(rec.config.Domainname === "" ? {} : { domainname: rec.config.Domainname }), extraHosts: hc.ExtraHosts ?? [] }),
    });
    files.push({ name: "resolv.conf", dest: "/etc/resolv.conf", text: await svc.network.resolvConf({ dns: hc.Dns, search: hc.DnsSearch, options: hc.DnsOptions }) });
    for (const f of files) await writeFile(join(dir, f.name), f.text, { mode: 0o644 });
    if (netnsPath !== "") await refreshPeerHosts(ctx, svc.network, Object.keys(networks), rec.id);
    // 4. spec
    const mounts: NonNullable<ContainerSpecInput["mounts"]> = files.map((f) => ({ source: join(dir, f.name), destination: f.dest, type: "bind", options: ["rbind", "rprivate"] }));
    for (const m of hc.Mounts) {
      if (m.Type === "bind") mounts.push({ source: m.Source, destination: m.Target, type: "bind", options: ["rbind", m.ReadOnly ? "ro" : "rw"] });
      else if (m.Type === "volume") {
        const source = await prepareVolumeMount(ctx, m, rootfs, o.signal);
        mounts.push({ source, destination: m.Target, type: "bind", options: ["rbind", m.ReadOnly ? "ro" : "rw"] });
      } else if (m.Type === "tmpfs") mounts.push({ source: "tmpfs", destination: m.Target, type: "tmpfs", options: ["nosuid", "nodev", ...(m.Options ?? [])] });
    }
    for (const [target, opts] of Object.entries(hc.Tmpfs)) {
      mounts.push({ source: "tmpfs", destination: target, type: "tmpfs", options: ["nosuid", "nodev", "noexec", ...opts.split(",").filter((x) => x !== "")] });
    }
    const input: ContainerSpecInput = {
      id: rec.id,
      rootfs,
      image: rec.config.Berth.imageConfig,
      entrypoint: rec.config.Berth.entrypoint,
      cmd: rec.config.Berth.cmd,
      env: rec.config.Berth.env,
      user: rec.config.User,
      workdir: rec.config.WorkingDir,
      hostname,
      domainname: rec.config.Domainname,
      tty: rec.config.Tty,
      openStdin: rec.config.OpenStdin,
      capAdd: hc.CapAdd ?? undefined,
      capDrop: hc.CapDrop ?? undefined,
      privileged: hc.Privileged,
      readOnly: hc.ReadonlyRootfs,
      noNewPrivileges: (hc.SecurityOpt ?? []).some((x) => /^no-new-privileges(:true|=true)?$/.test(x)),
      seccomp: (hc.SecurityOpt ?? []).includes("seccomp=unconfined") || (hc.SecurityOpt ?? []).includes("seccomp:unconfined") ? "unconfined" : "default",
      memory: hc.Memory || undefined,
      memorySwap: hc.MemorySwap || undefined,
      cpus: hc.NanoCpus > 0 ? hc.NanoCpus / 1e9 : undefined,
      cpuShares: hc.CpuShares || undefined,
      pidsLimit: hc.PidsLimit ?? undefined,
      ulimits: hc.Ulimits?.map((u) => ({ name: u.Name, soft: u.Soft, hard: u.Hard })),
      shmSize: hc.ShmSize,
      init: hc.Init ?? undefined,
      labels: rec.config.Labels,
      mounts,
      netns,
    };
    const { spec, user } = await prepareSpec(input, svc.host);
    if (rec.config.WorkingDir !== "" && rec.config.WorkingDir !== "/") await ensureWorkdir(rootfs, rec.config.WorkingDir, user.uid, user.gid);
    await writeFile(join(dir, "config.json"), serializeSpec(spec), { mode: 0o600 });
    // 5. run
    await svc.runtime.delete(rec.id, { force: true }).catch(() => undefined);
    const created = await svc.runtime.create({
      id: rec.id,
      bundle: dir,
      runDir,
      logPath: containerLogPath(ctx, rec.id),
      tty: rec.config.Tty,
      stdin: rec.config.OpenStdin,
      // docker run -d -i: stdin stays open for later attaches; run -i (StdinOnce) closes it when the client leaves.
      leaveStdinOpen: rec.config.OpenStdin && !rec.config.StdinOnce,
      exitCommand: [process.execPath, "--disable-warning=ExperimentalWarning", BERTH_ENTRY, "container", "cleanup", rec.id],
      ...sig,
    });
    if (o.onCreated !== undefined) await o.onCreated({ id: rec.id, runDir, bundle: dir });
    await svc.runtime.start(rec.id, sig);
    updateState(ctx, rec.id, (s) => ({
      ...s,
      Status: "running",
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: created.pid,
      MonitorPid: created.monitorPid,
      ExitCode: 0,
      Error: "",
      StartedAt: ctx.now().toISOString(),
    }));
  } catch (err) {
    rec = findContainer(ctx, rec.id);
    await releaseResources(ctx, rec, { runtimeDelete: true }).catch(() => undefined);
    const message = (err as Error).message;
    const code = startFailureCode(message);
    updateState(ctx, rec.id, (s) => ({
      ...s,
      Status: s.StartedAt === "0001-01-01T00:00:00Z" ? "created" : "exited",
      Running: false,
      Restarting: false,
      Pid: 0,
      ExitCode: code,
      Error: message,
      Networks: {},
      Ports: {},
      NetnsPath: "",
    }));
    if (isEngineError(err) && err.kind !== "system") throw err;
    throw systemError(`failed to create task for container: OCI runtime create failed: ${message}: unknown`, {
      cause: err,
      detail: { exitCode: code },
    }) as EngineError;
  }
}

/**
 * Containers as the Engine API shows them: ContainerSummary (GET
 * /containers/json, for `ps`) and ContainerInspect (GET
 * /containers/{id}/json), both projections of the record.
 */
import { join } from "node:path";
import { computeArgs } from "../runtime/index.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, containerLogPath, type ContainerRecord, type PortBinding } from "./container-record.ts";

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  Ports: PortSummary[];
  Labels: Record<string, string>;
  State: string;
  Status: string;
  SizeRw?: number;
  HostConfig: { NetworkMode: string };
  NetworkSettings: { Networks: Record<string, { IPAddress: string; Gateway: string; MacAddress: string }> };
  Mounts: { Type: string; Source: string; Destination: string; RW: boolean }[];
}

function argsOf(rec: ContainerRecord): string[] {
  return computeArgs(rec.config.Berth.imageConfig, rec.config.Berth.entrypoint, rec.config.Berth.cmd);
}

/** docker's "Up 5 minutes" / "Exited (0) 2 hours ago" / "Created". */
export function statusText(rec: ContainerRecord, now: Date, ago: (d: Date, now: Date) => string): string {
  const s = rec.state;
  switch (s.Status) {
    case "running":
      return `Up ${ago(new Date(s.StartedAt), now).replace(/ ago$/, "")}`;
    case "paused":
      return `Up ${ago(new Date(s.StartedAt), now).replace(/ ago$/, "")} (Paused)`;
    case "restarting":
      return `Restarting (${s.ExitCode}) ${ago(new Date(s.FinishedAt), now)}`;
    case "exited":
      return `Exited (${s.ExitCode}) ${ago(new Date(s.FinishedAt), now)}`;
    case "removing":
      return "Removal In Progress";
    case "dead":
      return "Dead";
    default:
      return "Created";
  }
}

function portSummaries(rec: ContainerRecord): PortSummary[] {
  const out: PortSummary[] = [];
  const published = rec.state.Running ? rec.state.Ports : {};
  const keys = new Set([...Object.keys(rec.config.ExposedPorts), ...Object.keys(published)]);
  for (const key of keys) {
    const [p = "0", type = "tcp"] = key.split("/");
    const list: PortBinding[] = published[key] ?? [];
    if (list.length === 0) out.push({ PrivatePort: Number(p), Type: type });
    for (const b of list) out.push({ IP: b.HostIp, PrivatePort: Number(p), PublicPort: Number(b.HostPort), Type: type });
  }
  return out.sort((a, b) => a.PrivatePort - b.PrivatePort || (a.PublicPort ?? 0) - (b.PublicPort ?? 0));
}

export function containerSummary(rec: ContainerRecord, o: { statusText: string; sizeRw?: number }): ContainerSummary {
  const args = argsOf(rec);
  return {
    Id: rec.id,
    Names: [`/${rec.name}`],
    Image: rec.config.Image,
    ImageID: rec.imageId,
    Command: args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" "),
    Created: Math.floor(Date.parse(rec.created) / 1000),
    Ports: portSummaries(rec),
    Labels: rec.config.Labels,
    State: rec.state.Status,
    Status: o.statusText,
    ...(o.sizeRw === undefined ? {} : { SizeRw: o.sizeRw }),
    HostConfig: { NetworkMode: rec.config.HostConfig.NetworkMode },
    NetworkSettings: {
      Networks: Object.fromEntries(
        Object.entries(rec.state.Networks).map(([k, n]) => [k, { IPAddress: n.IPAddress, Gateway: n.Gateway, MacAddress: n.MacAddress }]),
      ),
    },
    Mounts: rec.config.HostConfig.Mounts.map((m) => ({ Type: m.Type, Source: m.Source, Destination: m.Target, RW: !m.ReadOnly })),
  };
}

export function containerInspectView(ctx: EngineContext, rec: ContainerRecord, o: { sizeRw?: number; sizeRootFs?: number } = {}): Record<string, unknown> {
  const dir = containerDir(ctx, rec.id);
  const args = argsOf(rec);
  const s = rec.state;
  const { Berth: _internal, Networks: _nets, HostConfig, ...config } = rec.config;
  const primary = Object.values(s.Networks)[0];
  return {
    Id: rec.id,
    Created: rec.created,
    Path: args[0] ?? "",
    Args: args.slice(1),
    State: {
      Status: s.Status,
      Running: s.Running,
      Paused: s.Paused,
      Restarting: s.Restarting,
      OOMKilled: s.OOMKilled,
      Dead: s.Dead,
      Pid: s.Pid,
      ExitCode: s.ExitCode,
      Error: s.Error,
      StartedAt: s.StartedAt,
      FinishedAt: s.FinishedAt,
    },
    Image: rec.imageId,
    ResolvConfPath: join(dir, "resolv.conf"),
    HostnamePath: join(dir, "hostname"),
    HostsPath: join(dir, "hosts"),
    LogPath: containerLogPath(ctx, rec.id),
    Name: `/${rec.name}`,
    RestartCount: s.RestartCount,
    Driver: "overlayfs",
    Platform: "linux",
    MountLabel: "",
    ProcessLabel: "",
    AppArmorProfile: "",
    ExecIDs: null,
    HostConfig: { ...HostConfig, LogConfig: { Type: "k8s-file", Config: {} } },
    GraphDriver: {
      Data: {
        LowerDir: rec.config.Berth.lowerDirs.join(":"),
        UpperDir: join(dir, "upper"),
        WorkDir: join(dir, "work"),
        MergedDir: join(dir, "rootfs"),
      },
      Name: "overlayfs",
    },
    ...(o.sizeRw === undefined ? {} : { SizeRw: o.sizeRw }),
    ...(o.sizeRootFs === undefined ? {} : { SizeRootFs: o.sizeRootFs }),
    Mounts: rec.config.HostConfig.Mounts.map((m) => ({
      Type: m.Type,
      ...(m.Name === undefined ? {} : { Name: m.Name }),
      Source: m.Source,
      Destination: m.Target,
      Mode: m.ReadOnly ? "ro" : "",
      RW: !m.ReadOnly,
      Propagation: m.Type === "bind" ? "rprivate" : "",
    })),
    Config: { ...config, Cmd: config.Cmd, Entrypoint: config.Entrypoint },
    NetworkSettings: {
      Bridge: "",
      SandboxID: rec.id,
      SandboxKey: s.NetnsPath,
      Ports: Object.fromEntries(
        Object.keys({ ...rec.config.ExposedPorts, ...s.Ports }).map((k) => [k, s.Running ? (s.Ports[k] ?? null) : null]),
      ),
      Gateway: primary?.Gateway ?? "",
      IPAddress: primary?.IPAddress ?? "",
      IPPrefixLen: primary?.IPPrefixLen ?? 0,
      MacAddress: primary?.MacAddress ?? "",
      Networks: Object.fromEntries(
        Object.entries(s.Networks).map(([k, n]) => [
          k,
          { Aliases: n.Aliases, NetworkID: n.NetworkID, Gateway: n.Gateway, IPAddress: n.IPAddress, IPPrefixLen: n.IPPrefixLen, MacAddress: n.MacAddress },
        ]),
      ),
    },
  };
}

/**
 * `network inspect` and `network ls`: networks as the Engine API shows them, the built-in
 * `host` and `none` included (they have no config of their own; their IDs are stable per root).
 */
import { createHash } from "node:crypto";
import { invalidParameter, notFound } from "../core/index.ts";
import type { NetworkConfig } from "../network/index.ts";
import type { EngineContext } from "./context.ts";
import { listContainers } from "./container-record.ts";
import { networkOf } from "./services.ts";

/** Networks that exist without being created and cannot be removed. */
export const PREDEFINED = ["bridge", "host", "none"] as const;

export interface NetworkView {
  Name: string;
  Id: string;
  Created: string;
  Scope: "local";
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string>; Config: { Subnet: string; Gateway: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

function builtinId(ctx: EngineContext, name: string): string {
  return createHash("sha256").update(`berth-network:${ctx.config.root}:${name}`).digest("hex");
}

/** Docker's EndpointID: one per (container, network); stable so that inspect output is. */
export function endpointId(containerId: string, network: string): string {
  return createHash("sha256").update(`${containerId}/${network}`).digest("hex");
}

function builtin(ctx: EngineContext, name: "host" | "none"): NetworkView {
  return {
    Name: name,
    Id: builtinId(ctx, name),
    Created: new Date(0).toISOString(),
    Scope: "local",
    Driver: name === "host" ? "host" : "null",
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: {},
  };
}

function containersOn(ctx: EngineContext, name: string): NetworkView["Containers"] {
  const out: NetworkView["Containers"] = {};
  for (const r of listContainers(ctx)) {
    if (name === "host" || name === "none") {
      if (r.state.Running && r.config.HostConfig.NetworkMode === name) out[r.id] = { Name: r.name, EndpointID: endpointId(r.id, name), MacAddress: "", IPv4Address: "", IPv6Address: "" };
      continue;
    }
    const n = r.state.Networks[name];
    if (n === undefined || !r.state.Running) continue;
    out[r.id] = { Name: r.name, EndpointID: endpointId(r.id, name), MacAddress: n.MacAddress, IPv4Address: `${n.IPAddress}/${n.IPPrefixLen}`, IPv6Address: "" };
  }
  return out;
}

export function networkView(ctx: EngineContext, n: NetworkConfig): NetworkView {
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: "local",
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: "" },
    ConfigOnly: false,
    Containers: containersOn(ctx, n.name),
    Options: { "com.docker.network.bridge.name": n.bridge, ...(n.options ?? {}) },
    Labels: n.labels,
  };
}

/** All networks, built-ins included, in name order. */
export async function allNetworkViews(ctx: EngineContext): Promise<NetworkView[]> {
  const stored = await networkOf(ctx).list();
  const views = [...stored.map((n) => networkView(ctx, n)), builtin(ctx, "host"), builtin(ctx, "none")];
  return views.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/**
 * By exact name, full ID, or unique ID prefix.
 * @throws not-found `network <x> not found`
 */
export async function networkInspect(ctx: EngineContext, nameOrId: string): Promise<NetworkView> {
  if (nameOrId === "host" || nameOrId === "none") return { ...builtin(ctx, nameOrId), Containers: containersOn(ctx, nameOrId) };
  const all = await allNetworkViews(ctx);
  const exact = all.find((n) => n.Name === nameOrId || n.Id === nameOrId);
  if (exact !== undefined) return exact;
  const hits = /^[0-9a-f]+$/.test(nameOrId) ? all.filter((n) => n.Id.startsWith(nameOrId)) : [];
  if (hits.length > 1) throw invalidParameter(`network ${nameOrId} is ambiguous (${hits.length} matches found based on ID prefix)`);
  if (hits[0] !== undefined) return hits[0];
  throw notFound(`network ${nameOrId} not found`);
}

/** `network ls` filters: name (substring), id (prefix), driver, label (key or key=value), type (builtin|custom), dangling. */
export async function networkList(ctx: EngineContext, o: { filters?: Record<string, string[]> } = {}): Promise<NetworkView[]> {
  const f = o.filters ?? {};
  for (const k of Object.keys(f)) {
    if (!["name", "id", "driver", "label", "type", "dangling", "scope"].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
  }
  const labelOk = (labels: Record<string, string>, spec: string): boolean => {
    const eq = spec.indexOf("=");
    return eq < 0 ? Object.hasOwn(labels, spec) : labels[spec.slice(0, eq)] === spec.slice(eq + 1);
  };
  return (await allNetworkViews(ctx)).filter((n) => {
    const predefined = (PREDEFINED as readonly string[]).includes(n.Name);
    if (f["name"] !== undefined && !f["name"].some((x) => n.Name.includes(x))) return false;
    if (f["id"] !== undefined && !f["id"].some((x) => n.Id.startsWith(x))) return false;
    if (f["driver"] !== undefined && !f["driver"].includes(n.Driver)) return false;
    if (f["scope"] !== undefined && !f["scope"].includes(n.Scope)) return false;
    if (f["label"] !== undefined && !f["label"].every((l) => labelOk(n.Labels, l))) return false;
    for (const t of f["type"] ?? []) {
      if (t !== "builtin" && t !== "custom") throw invalidParameter(`invalid filter: 'type'='${t}'`);
      if ((t === "builtin") !== predefined) return false;
    }
    for (const d of f["dangling"] ?? []) {
      const want = d === "true" || d === "1";
      const dangling = !predefined && Object.keys(n.Containers).length === 0;
      if (want !== dangling) return false;
    }
    return true;
  });
}

/**
 * CniNetworkBackend: bridge networks for containers with the reference CNI plugins
 * (Debian containernetworking-plugins in /usr/lib/cni).
 *
 * Per container and network the chain is: bridge (veth into the namespace, host-local IPAM,
 * gateway on the host bridge, masquerade unless internal, hairpin) → portmap (published
 * ports, first network only, snat so that 127.0.0.1:<hostPort> works) → firewall
 * (CNI-FORWARD accept rules, needed when dockerd has set FORWARD to DROP). Loopback is
 * brought up once per namespace. berth adds docker-style isolation between networks
 * (iptables.ts) and host port reservations (ports.ts).
 *
 * On disk, under stateDir:
 *   networks/<name>.json      NetworkConfig (JsonNetworkStore; replaceable by any NetworkStore)
 *   ipam/<network>/<ip>       host-local leases (its dataDir); file content = container ID
 *   ports/<proto>-<port>      host port reservations; content = container ID
 *   results/<cid>/<net>.json  the conflist, runtime args and ADD result, for DEL (libcni's cache)
 *   endpoints/<cid>.json      IP and aliases per network, for hosts files
 *   lock/                     a directory lock for create/remove (cross-process)
 * and under runDir: netns/<containerId> (namespace bind mounts).
 *
 * Lifecycle: createNetns → setup → (container runs) → teardown → removeNetns. teardown is
 * idempotent and also works after the namespace is gone.
 */
import { mkdir, readdir, readFile, rm, rmdir, stat, writeFile, rename } from "node:fs/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash, randomBytes } from "node:crypto";
import {
  conflict,
  forbidden,
  invalidParameter,
  isEngineError,
  notFound,
  systemError,
  throwIfAborted,
  unavailable,
} from "../core/errors.ts";
import { CNI_VERSION, CniExec, type CniResult, type CniRuntime, type ConfList } from "./cni.ts";
import { buildResolvConf, renderHosts, type HostsEntry } from "./dns.ts";
import { run } from "./exec.ts";
import { addIsolation, ensureIsolationJumpFirst, forwardAcceptsAll, removeIsolation, sweepContainer } from "./iptables.ts";
import { allocateSubnet, contains, firstHost, formatCidr, overlaps, parseCidr, parseIPv4, routesFromIpJson, type Cidr } from "./ipv4.ts";
import { createNetnsAt, netnsExists, removeNetnsAt } from "./netns.ts";
import { PortReservations } from "./ports.ts";
import { JsonNetworkStore } from "./store.ts";
import type { NetworkConfig, NetworkStatus, NetworkStore, PortMapping } from "./types.ts";

export const DEFAULT_NETWORK = "bridge";
export const DEFAULT_BRIDGE = "berth0";
/**
 * podman's default subnet. Not docker's 172.17.0.0/16: dockerd is run on these hosts for
 * benchmarks and puts docker0 on 172.17.0.0/16, and two bridges with one route would break
 * both. If a host route overlaps it at creation, a free pool subnet is used instead.
 */
export const DEFAULT_SUBNET = "10.88.0.0/16";
const MTU_OPTION = "com.docker.network.driver.mtu";
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface CniNetworkBackendOptions {
  /** e.g. /var/lib/berth/network */
  stateDir: string;
  /** e.g. /run/berth/network */
  runDir: string;
  /** Where plugin binaries are looked up; default ["/usr/lib/cni", "/opt/cni/bin"]. */
  pluginDirs?: string[];
  /** Defaults to JSON files in stateDir/networks. */
  store?: NetworkStore;
  /**
   * Override the default network's subnet. Otherwise DEFAULT_SUBNET for the default state
   * dir, and for any other state dir (private roots: tests, sandboxes) a 10.x.0.0/16 chosen
   * from a hash of the state dir, moved on past subnets that are taken.
   */
  defaultSubnet?: string;
  /**
   * Override the default network's bridge name. Otherwise DEFAULT_BRIDGE ("berth0") for the
   * default state dir and `berth-<6 hex of sha256(stateDir)>` for any other, so that two
   * berth roots on one host never share a bridge (each has its own IPAM).
   */
  defaultBridge?: string;
}

/** The state dir of the default root (/var/lib/berth). */
export const DEFAULT_STATE_DIR = "/var/lib/berth/network";

/** The default network's bridge name for a state dir (see CniNetworkBackendOptions.defaultBridge). */
export function defaultBridgeFor(stateDir: string): string {
  return stateDir === DEFAULT_STATE_DIR ? DEFAULT_BRIDGE : `berth-${createHash("sha256").update(stateDir).digest("hex").slice(0, 6)}`;
}

/** Candidate default subnets for a private root: 10.89.0.0/16 .. 10.254.0.0/16, starting at a hash of the state dir. */
function* privateDefaultPool(stateDir: string): Generator<Cidr> {
  const start = createHash("sha256").update(stateDir).digest().readUInt16BE(0) % 166;
  for (let i = 0; i < 166; i++) yield { base: (((10 << 24) | ((89 + ((start + i) % 166)) << 16)) >>> 0), prefixLen: 16 };
}

interface CachedAttachment {
  list: ConfList;
  rt: CniRuntime;
  result?: CniResult;
}

interface EndpointRecord {
  containerId: string;
  networks: Record<string, { ip: string; aliases: string[] }>;
}

export class CniNetworkBackend {
  readonly #stateDir: string;
  readonly #runDir: string;
  readonly #store: NetworkStore;
  readonly #cni: CniExec;
  readonly #ports: PortReservations;
  readonly #defaultSubnet: string | undefined;
  readonly #defaultBridge: string;

  constructor(o: CniNetworkBackendOptions) {
    this.#stateDir = o.stateDir;
    this.#runDir = o.runDir;
    this.#store = o.store ?? new JsonNetworkStore(join(o.stateDir, "networks"));
    this.#cni = new CniExec(o.pluginDirs ?? ["/usr/lib/cni", "/opt/cni/bin"]);
    this.#ports = new PortReservations(join(o.stateDir, "ports"));
    this.#defaultSubnet = o.defaultSubnet ?? (o.stateDir === DEFAULT_STATE_DIR ? DEFAULT_SUBNET : undefined);
    this.#defaultBridge = o.defaultBridge ?? defaultBridgeFor(o.stateDir);
  }

  get #ipamDir(): string {
    return join(this.#stateDir, "ipam");
  }

  // ---------------------------------------------------------------- networks

  /**
   * Creates a user-defined bridge network. The bridge device itself appears when the first
   * container joins. When no subnet is given, the first pool subnet (172.18.0.0/16, ...)
   * that overlaps neither another network nor a host route is used.
   * @throws conflict if the name exists or the subnet overlaps another network's
   * @throws invalid-parameter for a bad name, subnet or gateway
   */
  async create(o: { name: string; subnet?: string; gateway?: string; internal?: boolean; labels?: Record<string, string>; options?: Record<string, string> }): Promise<NetworkConfig> {
    if (!NAME_RE.test(o.name)) {
      throw invalidParameter(`invalid network name "${o.name}", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
    if (o.name === DEFAULT_NETWORK || o.name === "host" || o.name === "none") {
      throw conflict(`network with name ${o.name} already exists`);
    }
    return this.#withLock(async () => {
      if ((await this.#store.get(o.name)) !== undefined) throw conflict(`network with name ${o.name} already exists`);
      const n = await this.#newConfig({ ...o, bridgeFor: (id) => `br-${id.slice(0, 12)}` });
      await this.#store.create(n);
      await addIsolation(n.bridge, n.internal);
      await ensureBridge(n, this.#stateDir);
      return n;
    });
  }

  /**
   * @throws forbidden for the default network
   * @throws conflict while containers are attached
   * @throws not-found
   */
  async remove(nameOrId: string): Promise<void> {
    const n = await this.inspect(nameOrId);
    if (n.name === DEFAULT_NETWORK) throw forbidden(`${DEFAULT_NETWORK} is a pre-defined network and cannot be removed`);
    await this.#withLock(async () => {
      if ((await this.#leases(n.name)).length > 0) {
        throw conflict(`error while removing network: network ${n.name} id ${n.id} has active endpoints`);
      }
      await this.#store.delete(n.name);
      await removeIsolation(n.bridge, n.internal);
      await run("ip", ["link", "del", n.bridge]);
      await rm(join(this.#ipamDir, n.name), { recursive: true, force: true });
    });
  }

  /** By exact name, full ID or unique ID prefix. @throws not-found */
  async inspect(nameOrId: string): Promise<NetworkConfig> {
    if (nameOrId === DEFAULT_NETWORK) return this.#ensureDefault();
    const byName = await this.#store.get(nameOrId);
    if (byName !== undefined) return byName;
    const all = await this.list();
    const hits = /^[0-9a-f]+$/.test(nameOrId) ? all.filter((n) => n.id.startsWith(nameOrId)) : [];
    if (hits.length === 1 && hits[0] !== undefined) return hits[0];
    if (hits.length > 1) throw invalidParameter(`network ${nameOrId} is ambiguous (${hits.length} matches found based on ID prefix)`);
    throw notFound(`network ${nameOrId} not found`);
  }

  /** All networks, the default one included (created on first use). */
  async list(): Promise<NetworkConfig[]> {
    await this.#ensureDefault();
    return this.#store.list();
  }

  async #ensureDefault(): Promise<NetworkConfig> {
    const have = await this.#store.get(DEFAULT_NETWORK);
    if (have !== undefined) return have;
    return this.#withLock(async () => {
      const again = await this.#store.get(DEFAULT_NETWORK);
      if (again !== undefined) return again;
      const taken = await this.#takenSubnets();
      const want = this.#defaultSubnet === undefined ? undefined : parseCidr(this.#defaultSubnet);
      const subnet =
        want === undefined
          ? formatCidr(allocateSubnet({ taken, candidates: privateDefaultPool(this.#stateDir) }))
          : taken.some((t) => overlaps(t, want)) ? formatCidr(allocateSubnet({ taken })) : formatCidr(want);
      // A new root: a good moment to reclaim bridges that deleted roots left behind.
      await sweepOrphanBridges().catch(() => undefined);
      const n = await this.#newConfig({ name: DEFAULT_NETWORK, subnet, bridgeFor: () => this.#defaultBridge });
      await this.#store.create(n);
      await addIsolation(n.bridge, n.internal);
      await ensureBridge(n, this.#stateDir);
      return n;
    });
  }

  async #newConfig(o: {
    name: string; subnet?: string; gateway?: string; internal?: boolean; labels?: Record<string, string>;
    options?: Record<string, string>; bridgeFor: (id: string) => string;
  }): Promise<NetworkConfig> {
    const taken = await this.#takenSubnets();
    let cidr: Cidr;
    if (o.subnet !== undefined) {
      cidr = parseCidr(o.subnet, { strict: true });
      const others = (await this.#store.list()).map((n) => parseCidr(n.subnet));
      if (others.some((t) => overlaps(t, cidr))) throw conflict("Pool overlaps with other one on this address space");
    } else {
      cidr = allocateSubnet({ taken });
    }
    let gateway = firstHost(cidr);
    if (o.gateway !== undefined) {
      const g = parseIPv4(o.gateway);
      if (g === undefined || !contains(cidr, g)) throw invalidParameter(`no matching subnet for gateway ${o.gateway}`);
      gateway = o.gateway;
    }
    const id = randomBytes(32).toString("hex");
    const options = { ...(o.options ?? {}) };
    if (options[MTU_OPTION] === undefined) {
      const mtu = await uplinkMtu();
      if (mtu !== undefined && mtu !== 1500) options[MTU_OPTION] = String(mtu);
    }
    const n: NetworkConfig = {
      name: o.name, id, driver: "bridge", subnet: formatCidr(cidr), gateway, bridge: o.bridgeFor(id),
      internal: o.internal ?? false, labels: o.labels ?? {}, created: new Date().toISOString(),
    };
    if (Object.keys(options).length > 0) n.options = options;
    return n;
  }

  /** Other networks' subnets plus the host's routes (excluding our own bridges' routes, already counted). */
  async #takenSubnets(): Promise<Cidr[]> {
    const stored = await this.#store.list();
    const nets = stored.map((n) => parseCidr(n.subnet));
    const r = await run("ip", ["-4", "-j", "route", "show", "table", "all"]);
    // Routes on berth's own bridges are not the host's: the default bridge may already
    // exist, with the default subnet, made by another berth root (tests, sandboxes).
    const excludeDevs = [this.#defaultBridge, ...stored.map((n) => n.bridge)];
    return [...nets, ...(r.code === 0 ? routesFromIpJson(r.stdout, { excludeDevs }) : [])].filter((c) => c.prefixLen > 0);
  }

  // ---------------------------------------------------------------- namespaces

  /** Creates runDir/netns/<containerId> (idempotent) and returns its path. */
  async createNetns(containerId: string): Promise<string> {
    const p = this.netnsPath(containerId);
    await createNetnsAt(p);
    return p;
  }

  /** Unmounts and deletes the namespace file; idempotent. */
  async removeNetns(containerId: string): Promise<void> {
    await removeNetnsAt(this.netnsPath(containerId));
  }

  netnsPath(containerId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId)) throw invalidParameter(`invalid container ID ${containerId}`);
    return join(this.#runDir, "netns", containerId);
  }

  // ---------------------------------------------------------------- attach / detach

  /**
   * Joins the container's namespace to each network (interfaces eth0, eth1, ... in order)
   * and publishes `ports` on the first one. Ports with hostPort 0 or a range are resolved;
   * the resolved list is in the first network's `ports`. All or nothing: on failure
   * everything done so far is undone (DEL, leases, rules, reservations) before the throw.
   * @throws conflict `Bind for 0.0.0.0:8080 failed: port is already allocated`, or a requested IP in use
   * @throws not-found for an unknown network; invalid-parameter for an IP outside the subnet
   * @throws cancelled when `signal` fires (after the undo)
   *
   * `ifIndexStart` > 0 adds networks to a namespace that is already set up (network connect):
   * interfaces start at eth<ifIndexStart>, loopback is left alone, and the container's DNS
   * record keeps its other networks.
   */
  async setup(o: {
    containerId: string; netns: string; networks: { name: string; aliases?: string[]; ip?: string }[];
    ports: PortMapping[]; signal?: AbortSignal; ifIndexStart?: number;
  }): Promise<Record<string, NetworkStatus>> {
    const base = o.ifIndexStart ?? 0;
    throwIfAborted(o.signal);
    const nets: NetworkConfig[] = [];
    for (const want of o.networks) {
      const n = await this.inspect(want.name);
      if (nets.some((x) => x.name === n.name)) throw conflict(`container ${o.containerId} is already attached to network ${n.name}`);
      nets.push(n);
      if (want.ip !== undefined) {
        const ip = parseIPv4(want.ip);
        if (ip === undefined || !contains(parseCidr(n.subnet), ip)) {
          throw invalidParameter(`no configured subnet or ip-range contain the IP address ${want.ip}`);
        }
        if (existsSync(join(this.#ipamDir, n.name, want.ip))) throw conflict(`Address already in use: ${want.ip}`);
      }
    }
    if (o.ports.length > 0 && nets.length === 0) throw invalidParameter("published ports need a network");
    const ports = o.ports.length > 0 ? await this.#ports.reserve(o.containerId, o.ports) : [];
    const attached: { net: NetworkConfig; att: CachedAttachment }[] = [];
    const out: Record<string, NetworkStatus> = {};
    // The firewall plugin only opens FORWARD for the container; skip it when FORWARD is already open.
    const firewall = !(await forwardAcceptsAll());
    const lo = loopbackList();
    const loRt: CniRuntime = { containerId: o.containerId, netns: o.netns, ifName: "lo" };
    try {
      if (base === 0) await this.#cni.addList(lo, loRt, o.signal);
      for (const [i, n] of nets.entries()) {
        throwIfAborted(o.signal);
        await addIsolation(n.bridge, n.internal);
        const want = o.networks[i]!;
        const withPorts = i === 0 && ports.length > 0;
        const rt: CniRuntime = {
          containerId: o.containerId, netns: o.netns, ifName: `eth${base + i}`,
          ...(want.ip !== undefined ? { args: `IgnoreUnknown=1;IP=${want.ip}` } : {}),
          ...(withPorts ? { capabilityArgs: { portMappings: ports.map(toCniPort) } } : {}),
        };
        const att: CachedAttachment = { list: this.#confList(n, withPorts, firewall), rt };
        attached.push({ net: n, att });
        att.result = await this.#cni.addList(att.list, rt, o.signal);
        await this.#writeCache(o.containerId, n.name, att);
        const st = statusOf(att.result, rt.ifName, n);
        if (withPorts) st.ports = ports;
        out[n.name] = st;
      }
      if (nets.length > 0) await ensureIsolationJumpFirst();
      await this.#writeEndpoint(o.containerId, nets, o.networks, out, base > 0);
    } catch (e) {
      await this.#undo(o.containerId, o.netns, attached, Object.values(out).map((s) => s.ip), base > 0);
      if (isEngineError(e)) throw e;
      if (e instanceof Error && e.name === "AbortError") throwIfAborted(o.signal);
      throw systemError(`network setup for container ${o.containerId} failed: ${(e as Error).message}`, { cause: e });
    }
    return out;
  }

  async #undo(containerId: string, netns: string, attached: { net: NetworkConfig; att: CachedAttachment }[], ips: string[], partial = false): Promise<void> {
    for (const { att } of [...attached].reverse()) {
      await this.#cni.delList(att.list, att.rt, att.result).catch(() => {});
    }
    for (const { net } of attached) await this.#dropLeases(net.name, containerId);
    if (partial) {
      for (const { net } of attached) await rm(join(this.#stateDir, "results", containerId, `${net.name}.json`), { force: true });
      return;
    }
    await sweepContainer(containerId, ips).catch(() => {});
    await this.#ports.release(containerId);
    await rm(join(this.#stateDir, "results", containerId), { recursive: true, force: true });
    await rm(join(this.#stateDir, "endpoints", `${containerId}.json`), { force: true });
    void netns;
  }

  /**
   * Leaves the networks (DEL in reverse order), releases IP leases, iptables rules, port
   * reservations and DNS records. Idempotent; works when the namespace is gone or the
   * network was never joined. Throws only if a lease could not be released.
   *
   * `partial` leaves only the named networks of a container that stays on others (network
   * disconnect): loopback, port reservations and the container's other rules are kept.
   */
  async teardown(o: { containerId: string; netns: string; networks: string[]; ports: PortMapping[]; partial?: boolean }): Promise<void> {
    const live = o.netns !== "" && (await netnsExists(o.netns));
    const netns = live ? o.netns : "";
    const ips: string[] = [];
    for (const name of [...o.networks].reverse()) {
      const cached = await this.#readCache(o.containerId, name);
      const net = await this.#store.get(name);
      let att = cached;
      if (att === undefined && net !== undefined) {
        const i = o.networks.indexOf(name);
        att = { list: this.#confList(net, i === 0 && o.ports.length > 0), rt: { containerId: o.containerId, netns, ifName: `eth${i}` } };
        if (i === 0 && o.ports.length > 0) att.rt.capabilityArgs = { portMappings: o.ports.map(toCniPort) };
      }
      if (att !== undefined) {
        att.rt = { ...att.rt, netns };
        for (const ip of att.result?.ips ?? []) ips.push(ip.address.split("/")[0] ?? "");
        await this.#cni.delList(att.list, att.rt, att.result).catch(() => {});
      }
      await this.#dropLeases(name, o.containerId);
    }
    if (live && o.partial !== true) await this.#cni.delList(loopbackList(), { containerId: o.containerId, netns, ifName: "lo" }, undefined).catch(() => {});
    if (o.partial !== true) {
      await sweepContainer(o.containerId, ips);
      await this.#ports.release(o.containerId);
    }
    for (const name of o.networks) await rm(join(this.#stateDir, "results", o.containerId, `${name}.json`), { force: true });
    await rmdir(join(this.#stateDir, "results", o.containerId)).catch(() => {});
    await this.#dropEndpoint(o.containerId, o.networks);
    for (const name of o.networks) {
      const left = (await this.#leases(name)).filter((l) => l.owner === o.containerId);
      if (left.length > 0) throw systemError(`could not release IP lease ${left[0]!.ip} on network ${name}`);
    }
  }

  #confList(n: NetworkConfig, withPorts: boolean, firewall = true): ConfList {
    const mtu = n.options?.[MTU_OPTION];
    return {
      cniVersion: CNI_VERSION,
      name: n.name,
      plugins: [
        {
          type: "bridge", bridge: n.bridge, isGateway: true, ipMasq: !n.internal, hairpinMode: true,
          ...(mtu !== undefined ? { mtu: Number(mtu) } : {}),
          ipam: {
            type: "host-local", dataDir: this.#ipamDir,
            ranges: [[{ subnet: n.subnet, gateway: n.gateway }]],
            routes: n.internal ? [] : [{ dst: "0.0.0.0/0" }],
          },
        },
        ...(withPorts ? [{ type: "portmap", capabilities: { portMappings: true }, snat: true }] : []),
        ...(firewall ? [{ type: "firewall", backend: "iptables" }] : []),
      ],
    };
  }

  // ---------------------------------------------------------------- leases, cache, endpoints

  /** host-local lease files of a network: file name = IP, first line = container ID. */
  async #leases(network: string): Promise<{ ip: string; owner: string }[]> {
    const dir = join(this.#ipamDir, network);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const out: { ip: string; owner: string }[] = [];
    for (const f of names) {
      if (parseIPv4(f) === undefined) continue;
      const owner = (await readFile(join(dir, f), "utf8").catch(() => "")).split(/\r?\n/)[0]?.trim() ?? "";
      out.push({ ip: f, owner });
    }
    return out;
  }

  async #dropLeases(network: string, containerId: string): Promise<void> {
    for (const l of await this.#leases(network)) {
      if (l.owner === containerId) await rm(join(this.#ipamDir, network, l.ip), { force: true });
    }
  }

  async #writeCache(containerId: string, network: string, att: CachedAttachment): Promise<void> {
    const dir = join(this.#stateDir, "results", containerId);
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, `${network}.json`), JSON.stringify(att));
  }

  async #readCache(containerId: string, network: string): Promise<CachedAttachment | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#stateDir, "results", containerId, `${network}.json`), "utf8")) as CachedAttachment;
    } catch {
      return undefined;
    }
  }

  async #writeEndpoint(containerId: string, nets: NetworkConfig[], wants: { aliases?: string[] }[], st: Record<string, NetworkStatus>, merge = false): Promise<void> {
    const rec: EndpointRecord = { containerId, networks: {} };
    if (merge) {
      const old = this.#endpoints().find((r) => r.containerId === containerId);
      if (old !== undefined) rec.networks = { ...old.networks };
    }
    nets.forEach((n, i) => {
      const s = st[n.name];
      if (s !== undefined) rec.networks[n.name] = { ip: s.ip, aliases: [...(wants[i]?.aliases ?? []), containerId.slice(0, 12)] };
    });
    const dir = join(this.#stateDir, "endpoints");
    await mkdir(dir, { recursive: true });
    await writeAtomic(join(dir, `${containerId}.json`), JSON.stringify(rec));
  }

  async #dropEndpoint(containerId: string, networks: string[]): Promise<void> {
    const p = join(this.#stateDir, "endpoints", `${containerId}.json`);
    let rec: EndpointRecord;
    try {
      rec = JSON.parse(await readFile(p, "utf8")) as EndpointRecord;
    } catch {
      return;
    }
    for (const n of networks) delete rec.networks[n];
    if (Object.keys(rec.networks).length === 0) await rm(p, { force: true });
    else await writeAtomic(p, JSON.stringify(rec));
  }

  #endpoints(): EndpointRecord[] {
    const dir = join(this.#stateDir, "endpoints");
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const out: EndpointRecord[] = [];
    for (const f of names.filter((x) => x.endsWith(".json"))) {
      try {
        out.push(JSON.parse(readFileSync(join(dir, f), "utf8")) as EndpointRecord);
      } catch {
        /* being rewritten or gone */
      }
    }
    return out;
  }

  /**
   * Removes what this state dir's networks put on the host: every bridge and berth's
   * isolation rules for it (the network configs stay). For throwaway roots (tests,
   * sandboxes) before their directories are deleted; containers must be gone first.
   */
  async removeHostState(): Promise<void> {
    for (const n of await this.#store.list()) {
      await removeIsolation(n.bridge, n.internal);
      await run("ip", ["link", "del", n.bridge]);
    }
  }

  /** Interface names (eth0, eth1, ...) the container's attachments use now, from the attachment cache. */
  async interfacesOf(containerId: string): Promise<string[]> {
    const dir = join(this.#stateDir, "results", containerId);
    const out: string[] = [];
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith(".json")) continue;
      const att = await this.#readCache(containerId, f.slice(0, -5));
      if (att !== undefined) out.push(att.rt.ifName);
    }
    return out;
  }

  // ---------------------------------------------------------------- DNS

  /**
   * The container's /etc/hosts: localhost lines, its own IPs with its hostname, --add-host
   * entries ("name:ip"), and every other container on its user-defined networks by alias
   * (the aliases given to setup, which should include the container name, plus the short
   * ID). The default "bridge" network gets no name resolution, as in docker.
   */
  hostsFile(o: { containerId: string; hostname: string; domainname?: string; extraHosts?: string[] }): string {
    const all = this.#endpoints();
    const me = all.find((r) => r.containerId === o.containerId);
    const names = o.domainname ? [`${o.hostname}.${o.domainname}`, o.hostname] : [o.hostname];
    const self: HostsEntry[] = Object.values(me?.networks ?? {}).map((e) => ({ ip: e.ip, names }));
    const extra: HostsEntry[] = (o.extraHosts ?? []).map((h) => {
      const i = h.indexOf(":");
      return { ip: h.slice(i + 1), names: [h.slice(0, i)] };
    });
    const peers: HostsEntry[] = [];
    for (const net of Object.keys(me?.networks ?? {})) {
      if (net === DEFAULT_NETWORK) continue;
      for (const r of all) {
        const e = r.networks[net];
        if (r.containerId !== o.containerId && e !== undefined) peers.push({ ip: e.ip, names: e.aliases });
      }
    }
    return renderHosts({ self, extra, peers });
  }

  /** Containers whose hosts file lists members of these networks (rewrite them after setup/teardown). */
  peersOf(networks: string[], exclude?: string): string[] {
    return this.#endpoints()
      .filter((r) => r.containerId !== exclude && networks.some((n) => n !== DEFAULT_NETWORK && r.networks[n] !== undefined))
      .map((r) => r.containerId);
  }

  /** See dns.ts buildResolvConf. */
  resolvConf(o: { dns?: string[]; search?: string[]; options?: string[] }): Promise<string> {
    return buildResolvConf(o);
  }

  // ---------------------------------------------------------------- locking

  async #withLock<T>(fn: () => Promise<T>): Promise<T> {
    const dir = join(this.#stateDir, "lock");
    await mkdir(this.#stateDir, { recursive: true });
    const deadline = Date.now() + 30_000;
    for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
      try {
        await mkdir(dir);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const st = await stat(dir).catch(() => undefined);
        if (st !== undefined && Date.now() - st.mtimeMs > 60_000) await rmdir(dir).catch(() => {}); // stale: holder died
        if (Date.now() > deadline) throw unavailable(`network state is locked (${dir})`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    try {
      return await fn();
    } finally {
      await rmdir(dir).catch(() => {});
    }
  }
}

function loopbackList(): ConfList {
  return { cniVersion: CNI_VERSION, name: "berth-loopback", plugins: [{ type: "loopback" }] };
}

function toCniPort(p: PortMapping): Record<string, unknown> {
  return { hostPort: p.hostPort, containerPort: p.containerPort, protocol: p.protocol, hostIP: p.hostIp };
}

function statusOf(r: CniResult, ifName: string, n: NetworkConfig): NetworkStatus {
  const ifaces = r.interfaces ?? [];
  const idx = ifaces.findIndex((i) => i.name === ifName && i.sandbox !== undefined && i.sandbox !== "");
  const ip = (r.ips ?? []).find((x) => idx < 0 || x.interface === idx) ?? r.ips?.[0];
  if (ip === undefined) throw systemError(`CNI result for network ${n.name} has no IP address`);
  const [addr, len] = ip.address.split("/");
  return { ip: addr ?? "", prefixLen: Number(len), gateway: ip.gateway ?? n.gateway, mac: ifaces[idx]?.mac ?? "", interface: ifName };
}

async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(4).toString("hex")}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/**
 * Creates the network's bridge with its gateway address, up, when it does not exist: the
 * route then shows from creation on, so another berth root choosing a subnet sees it.
 * The bridge plugin accepts an existing bridge that carries the gateway address.
 * Best effort: the plugin makes the bridge itself if this fails.
 */
async function ensureBridge(n: NetworkConfig, stateDir: string): Promise<void> {
  if ((await run("ip", ["link", "show", "dev", n.bridge])).code === 0) return;
  if ((await run("ip", ["link", "add", "name", n.bridge, "type", "bridge"])).code !== 0) return;
  // The owner, for sweepOrphanBridges.
  await run("ip", ["link", "set", "dev", n.bridge, "alias", `${BRIDGE_ALIAS_PREFIX}${stateDir}`]);
  const mtu = n.options?.[MTU_OPTION];
  if (mtu !== undefined) await run("ip", ["link", "set", "dev", n.bridge, "mtu", mtu]);
  await run("ip", ["addr", "add", `${n.gateway}/${n.subnet.split("/")[1] ?? "16"}`, "dev", n.bridge]);
  await run("ip", ["link", "set", "dev", n.bridge, "up"]);
}

const BRIDGE_ALIAS_PREFIX = "berth:";

/**
 * Deletes bridges berth made (alias `berth:<stateDir>`) whose state dir no longer exists
 * and that have no ports, with berth's isolation rules for them: what throwaway roots
 * (tests, sandboxes) leave on the host once their directories are deleted.
 */
export async function sweepOrphanBridges(): Promise<string[]> {
  const r = await run("ip", ["-j", "link", "show", "type", "bridge"]);
  if (r.code !== 0) return [];
  let links: { ifname?: string; ifalias?: string }[];
  try {
    links = JSON.parse(r.stdout) as { ifname?: string; ifalias?: string }[];
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const l of links) {
    const name = l.ifname;
    const alias = l.ifalias ?? "";
    if (name === undefined || !alias.startsWith(BRIDGE_ALIAS_PREFIX)) continue;
    const owner = alias.slice(BRIDGE_ALIAS_PREFIX.length);
    if (!owner.startsWith("/") || existsSync(owner)) continue;
    let ports: string[];
    try {
      ports = readdirSync(`/sys/class/net/${name}/brif`);
    } catch {
      continue;
    }
    if (ports.length > 0) continue;
    await removeIsolation(name, false);
    await removeIsolation(name, true);
    if ((await run("ip", ["link", "del", name])).code === 0) removed.push(name);
  }
  return removed;
}

async function uplinkMtu(): Promise<number | undefined> {
  const r = await run("ip", ["-4", "-j", "route", "show", "default"]);
  if (r.code !== 0) return undefined;
  try {
    const dev = (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev;
    if (dev === undefined) return undefined;
    const mtu = Number((await readFile(`/sys/class/net/${dev}/mtu`, "utf8")).trim());
    return Number.isInteger(mtu) && mtu >= 576 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

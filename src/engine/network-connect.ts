/**
 * `network connect` / `network disconnect`. A running container joins or leaves the network
 * at once (a new interface eth<N> in its namespace, or that interface removed), and its own
 * and its peers' hosts files are rewritten; a stopped one only has its config changed and
 * joins on its next start. Either way the change is recorded in the container's config
 * (Networks: joined at each start) and, while it runs, in its state.
 */
import { conflict, forbidden, invalidParameter, notFound } from "../core/index.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, getContainerById, findContainer, type ContainerRecord, type NetworkState } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { hostsText, refreshPeerHosts } from "./network-hosts.ts";
import { containerServices, networkOf } from "./services.ts";
import { writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";

function checkMode(rec: ContainerRecord, net: string): void {
  const mode = rec.config.HostConfig.NetworkMode;
  if (mode === "host" || net === "host") throw forbidden("container cannot be disconnected from host network or connected to host network");
  if (mode === "none" || net === "none") throw forbidden("container cannot be connected to multiple networks with one of the networks in private (none) mode");
  if (mode.startsWith("container:")) throw forbidden("conflicting options: container type network can't be used with links. This would result in undefined behavior");
}

/** Writes config.Networks and state.Networks in one transaction. */
function record(ctx: EngineContext, id: string, fn: (rec: ContainerRecord) => { config: ContainerRecord["config"]; state: ContainerRecord["state"] }): void {
  ctx.db.transaction(() => {
    const rec = getContainerById(ctx, id);
    if (rec === undefined) throw notFound(`No such container: ${id}`);
    const next = fn(rec);
    ctx.db.db.prepare("UPDATE containers SET config = ?, state = ? WHERE id = ?").run(JSON.stringify(next.config), JSON.stringify(next.state), id);
  });
}

async function rewriteOwnHosts(ctx: EngineContext, id: string): Promise<void> {
  const rec = getContainerById(ctx, id);
  const path = join(containerDir(ctx, id), "hosts");
  if (rec === undefined || !existsSync(path)) return;
  await writeFile(path, hostsText(networkOf(ctx), rec)); // in place: the bind mount pins the inode
}

/**
 * @throws not-found for an unknown network or container
 * @throws conflict when already connected (`endpoint with name <c> already exists in network <n>`)
 * @throws forbidden for host/none/container: network modes
 */
export async function networkConnect(
  ctx: EngineContext,
  o: { network: string; container: string; aliases?: string[]; ip?: string; signal?: AbortSignal },
): Promise<void> {
  const rec = await refreshContainer(ctx, findContainer(ctx, o.container));
  checkMode(rec, o.network);
  const backend = networkOf(ctx);
  const net = await backend.inspect(o.network);
  if (rec.config.Networks[net.name] !== undefined) throw conflict(`endpoint with name ${rec.name} already exists in network ${net.name}`);
  const aliases = o.aliases ?? [];
  const want = { Aliases: aliases, IPAddress: o.ip ?? "" };
  if (!rec.state.Running || rec.state.NetnsPath === "") {
    record(ctx, rec.id, (r) => ({ config: { ...r.config, Networks: { ...r.config.Networks, [net.name]: want } }, state: r.state }));
    return;
  }
  const svc = await containerServices(ctx);
  const used = new Set(await svc.network.interfacesOf(rec.id));
  let index = 0;
  while (used.has(`eth${index}`)) index++;
  const all = [rec.name, ...aliases];
  const status = await svc.network.setup({
    containerId: rec.id,
    netns: rec.state.NetnsPath,
    networks: [{ name: net.name, aliases: all, ...(o.ip === undefined || o.ip === "" ? {} : { ip: o.ip }) }],
    ports: [],
    ifIndexStart: index,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  const st = status[net.name];
  if (st === undefined) throw invalidParameter(`network ${net.name} was not set up`);
  const ns: NetworkState = { NetworkID: net.id, IPAddress: st.ip, IPPrefixLen: st.prefixLen, Gateway: st.gateway, MacAddress: st.mac, Aliases: all };
  record(ctx, rec.id, (r) => ({
    config: { ...r.config, Networks: { ...r.config.Networks, [net.name]: want } },
    state: { ...r.state, Networks: { ...r.state.Networks, [net.name]: ns } },
  }));
  await rewriteOwnHosts(ctx, rec.id);
  await refreshPeerHosts(ctx, svc.network, [net.name], rec.id);
}

/**
 * @throws conflict `container <id> is not connected to network <name>`
 * @throws not-found for an unknown container, or an unknown network (unless force)
 */
export async function networkDisconnect(ctx: EngineContext, o: { network: string; container: string; force?: boolean }): Promise<void> {
  const rec = await refreshContainer(ctx, findContainer(ctx, o.container));
  checkMode(rec, o.network);
  const backend = networkOf(ctx);
  let name = o.network;
  try {
    name = (await backend.inspect(o.network)).name;
  } catch (e) {
    if (o.force !== true) throw e;
  }
  if (rec.config.Networks[name] === undefined) throw conflict(`container ${rec.id} is not connected to network ${name}`);
  const live = rec.state.Running && rec.state.NetnsPath !== "";
  if (live) {
    const svc = await containerServices(ctx);
    await svc.network.teardown({ containerId: rec.id, netns: rec.state.NetnsPath, networks: [name], ports: [], partial: true });
  }
  record(ctx, rec.id, (r) => {
    const { [name]: _c, ...nets } = r.config.Networks;
    const { [name]: _s, ...states } = r.state.Networks;
    return { config: { ...r.config, Networks: nets }, state: { ...r.state, Networks: states } };
  });
  if (live) {
    await rewriteOwnHosts(ctx, rec.id);
    await refreshPeerHosts(ctx, backend, [name], rec.id);
  }
}

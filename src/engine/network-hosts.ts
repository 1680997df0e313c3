/**
 * Name resolution between containers (see network/dns.ts): each container's /etc/hosts is
 * a file in its container dir, bind-mounted into it. When a container joins or leaves a
 * user-defined network, the hosts files of the other members are rewritten in place
 * (truncate and write the same inode: a bind mount of a file pins the inode, so a rename
 * would not be seen inside the container).
 */
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import type { CniNetworkBackend } from "../network/index.ts";
import type { EngineContext } from "./context.ts";
import { containerDir, getContainerById, type ContainerRecord } from "./container-record.ts";

/** The hosts file text of a container on its networks (not for --network host). */
export function hostsText(network: CniNetworkBackend, rec: ContainerRecord): string {
  const hostname = rec.config.Hostname === "" ? osHostname() : rec.config.Hostname;
  return network.hostsFile({
    containerId: rec.id,
    hostname,
    ...(rec.config.Domainname === "" ? {} : { domainname: rec.config.Domainname }),
    extraHosts: rec.config.HostConfig.ExtraHosts ?? [],
  });
}

/** Rewrites the hosts files of the containers that share one of `networks` with `self`. Best effort per peer. */
export async function refreshPeerHosts(ctx: EngineContext, network: CniNetworkBackend, networks: readonly string[], self: string): Promise<void> {
  for (const id of network.peersOf([...networks], self)) {
    const rec = getContainerById(ctx, id);
    if (rec === undefined || rec.config.HostConfig.NetworkMode === "host") continue;
    const path = join(containerDir(ctx, id), "hosts");
    if (!existsSync(path)) continue;
    await writeFile(path, hostsText(network, rec)).catch(() => undefined);
  }
}

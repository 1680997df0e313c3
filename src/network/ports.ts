/**
 * Host port reservations for published ports.
 *
 * The portmap plugin only writes DNAT rules; nothing holds the host socket. So berth
 * checks a port twice before ADD: (1) a reservation file <dir>/<proto>-<port>, created
 * exclusively and holding the container ID, so two berth containers cannot take the same
 * port (across processes); (2) a trial bind from Node on the requested address, so a port a
 * host process already listens on is refused with docker's message. A reservation is per
 * protocol and port whatever the host address (stricter than docker, which allows
 * 127.0.0.1:80 and 127.0.0.2:80 side by side).
 */
import { createServer } from "node:net";
import { createSocket } from "node:dgram";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { conflict, systemError } from "../core/errors.ts";
import type { PortMapping } from "./types.ts";

function bindAddr(hostIp: string): string {
  return hostIp === "" ? "0.0.0.0" : hostIp;
}

function displayAddr(hostIp: string): string {
  const a = bindAddr(hostIp);
  return a.includes(":") ? `[${a}]` : a;
}

/** Binds and releases the port; resolves to the bound port number (useful for port 0). */
export function tryBind(hostIp: string, port: number, protocol: "tcp" | "udp"): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => {
      if (e.code === "EADDRINUSE" || e.code === "EACCES") {
        reject(conflict(`Bind for ${displayAddr(hostIp)}:${port} failed: port is already allocated`, { cause: e }));
      } else if (e.code === "EADDRNOTAVAIL") {
        reject(systemError(`Bind for ${displayAddr(hostIp)}:${port} failed: cannot assign requested address`, { cause: e }));
      } else reject(systemError(`Bind for ${displayAddr(hostIp)}:${port} failed: ${e.message}`, { cause: e }));
    };
    if (protocol === "tcp") {
      const s = createServer();
      s.once("error", fail);
      s.listen({ host: bindAddr(hostIp), port, exclusive: true }, () => {
        const a = s.address();
        const p = typeof a === "object" && a !== null ? a.port : port;
        s.close(() => resolve(p));
      });
    } else {
      const s = createSocket(bindAddr(hostIp).includes(":") ? "udp6" : "udp4");
      s.once("error", fail);
      s.bind({ address: bindAddr(hostIp), port, exclusive: true }, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    }
  });
}

export class PortReservations {
  readonly #dir: string;
  constructor(dir: string) {
    this.#dir = dir;
  }

  #file(p: { protocol: string; hostPort: number }): string {
    return join(this.#dir, `${p.protocol}-${p.hostPort}`);
  }

  /** Reserves one concrete port for the container, or throws conflict. */
  async #reserveOne(containerId: string, p: PortMapping): Promise<void> {
    const f = this.#file(p);
    try {
      await writeFile(f, containerId, { flag: "wx" });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = (await readFile(f, "utf8").catch(() => "")).trim();
      if (owner !== containerId) {
        throw conflict(`Bind for ${displayAddr(p.hostIp)}:${p.hostPort} failed: port is already allocated`);
      }
      return;
    }
    try {
      await tryBind(p.hostIp, p.hostPort, p.protocol);
    } catch (e) {
      await rm(f, { force: true });
      throw e;
    }
  }

  /**
   * Resolves hostPort 0 and host port ranges to concrete ports and reserves them all for
   * the container. All or nothing: on a conflict, what this call reserved is released.
   * @throws conflict `Bind for <ip>:<port> failed: port is already allocated`
   */
  async reserve(containerId: string, ports: readonly PortMapping[]): Promise<PortMapping[]> {
    await mkdir(this.#dir, { recursive: true });
    const done: PortMapping[] = [];
    try {
      for (const p of ports) {
        const { hostPortEnd: end, ...base } = p;
        if (end !== undefined && end > p.hostPort) {
          let got: PortMapping | undefined;
          for (let port = p.hostPort; port <= end && got === undefined; port++) {
            const c = { ...base, hostPort: port };
            try {
              await this.#reserveOne(containerId, c);
              got = c;
            } catch {
              /* try the next one */
            }
          }
          if (got === undefined) {
            throw conflict(`Bind for ${displayAddr(p.hostIp)}:${p.hostPort}-${end} failed: port is already allocated`);
          }
          done.push(got);
        } else if (p.hostPort === 0) {
          let got: PortMapping | undefined;
          for (let attempt = 0; attempt < 20 && got === undefined; attempt++) {
            const port = await tryBind(p.hostIp, 0, p.protocol);
            const c = { ...base, hostPort: port };
            try {
              await this.#reserveOne(containerId, c);
              got = c;
            } catch {
              /* raced; another ephemeral port */
            }
          }
          if (got === undefined) throw conflict(`no free host port for ${p.containerPort}/${p.protocol}`);
          done.push(got);
        } else {
          await this.#reserveOne(containerId, base);
          done.push(base);
        }
      }
    } catch (e) {
      for (const d of done) await rm(this.#file(d), { force: true });
      throw e;
    }
    return done;
  }

  /** Releases every reservation the container holds. Idempotent. */
  async release(containerId: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch {
      return;
    }
    for (const n of names) {
      const f = join(this.#dir, n);
      if ((await readFile(f, "utf8").catch(() => "")).trim() === containerId) await rm(f, { force: true });
    }
  }
}

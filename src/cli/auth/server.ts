/** The SERVER argument of login/logout, as docker reads it (registry.ConvertToHostname). */
import { DOCKER_HUB, DOCKER_HUB_AUTH_KEY, canonicalHost } from "../../registry/index.ts";

export interface LoginServer {
  /** host[:port] for the registry client ("docker.io" for Docker Hub). */
  readonly host: string;
  /** How docker names it in messages: "https://index.docker.io/v1/" for Hub, else host[:port]. */
  readonly shown: string;
}

export function loginServer(arg: string | undefined): LoginServer {
  if (arg === undefined || arg === "") return { host: DOCKER_HUB, shown: DOCKER_HUB_AUTH_KEY };
  let h = arg.replace(/^https?:\/\//i, "");
  const slash = h.indexOf("/");
  if (slash >= 0) h = h.slice(0, slash);
  const host = canonicalHost(h);
  return host === DOCKER_HUB ? { host, shown: DOCKER_HUB_AUTH_KEY } : { host, shown: h };
}

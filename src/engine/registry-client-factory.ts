/**
 * Registry clients made from the engine's configuration (moby
 * registry.ServiceOptions): `registry-mirrors` serve docker.io pulls,
 * `insecure-registries` may be spoken to over HTTP, /etc/docker/certs.d holds
 * per-host CAs and client certificates, and credentials come from Docker's
 * ~/.docker/config.json ($DOCKER_CONFIG/config.json when set).
 *
 * A client owns connection pools: callers `close()` it when done (or use
 * `await using`).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { RegistryClient, type RegistryConfig } from "../registry/index.ts";
import type { EngineConfig } from "./config.ts";

/** The version in berth's User-Agent (kept in step with the CLI's VERSION). */
export const BERTH_VERSION = "0.1.0";

export interface RegistryClientFactoryOptions {
  /** Environment to read DOCKER_CONFIG and HOME from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default /etc/docker/certs.d. */
  readonly certsDir?: string;
  /** Default `berth/<BERTH_VERSION>`. */
  readonly userAgent?: string;
}

/** Docker's client config file: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
export function dockerConfigPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const dir = env["DOCKER_CONFIG"];
  if (dir !== undefined && dir !== "") return join(dir, "config.json");
  const home = env["HOME"] !== undefined && env["HOME"] !== "" ? env["HOME"] : homedir();
  return join(home, ".docker", "config.json");
}

/** The registry module's view of the engine configuration. */
export function registryConfig(config: EngineConfig, o: RegistryClientFactoryOptions = {}): RegistryConfig {
  return {
    mirrors: config.registryMirrors.length > 0 ? { "docker.io": [...config.registryMirrors] } : {},
    insecure: [...config.insecureRegistries],
    certsDir: o.certsDir ?? "/etc/docker/certs.d",
    dockerConfigPath: dockerConfigPath(o.env ?? process.env),
  };
}

/** A client for pulls, pushes and logins; the caller closes it. */
export function createRegistryClient(config: EngineConfig, o: RegistryClientFactoryOptions = {}): RegistryClient & AsyncDisposable {
  const client = new RegistryClient({ config: registryConfig(config, o), userAgent: o.userAgent ?? `berth/${BERTH_VERSION}` });
  return Object.assign(client, { [Symbol.asyncDispose]: () => client.close() });
}

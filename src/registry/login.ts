/**
 * `docker login` / `docker logout` without the CLI: validate credentials
 * against the registry (GET /v2/, through the token flow when the registry
 * uses one), then store them in Docker's config.json (or its credential
 * helper). Docker Hub credentials live under "https://index.docker.io/v1/".
 */
import { canonicalHost } from "./registry-hosts.ts";
import type { RegistryClient } from "./registry-client.ts";
import { DockerConfigKeychain, type Credentials } from "./keychain.ts";

export interface LoginOptions {
  readonly client: RegistryClient;
  /** Registry host[:port]; "docker.io" (or index.docker.io) for Docker Hub. */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
  /** Default: client.config.dockerConfigPath, else ~/.docker/config.json. */
  readonly configPath?: string;
  readonly signal?: AbortSignal;
}

/** @returns "Login Succeeded" on success. @throws unauthorized (wrong credentials), unavailable */
export async function login(o: LoginOptions): Promise<string> {
  const creds: Credentials = { username: o.username, password: o.password };
  await o.client.ping(o.registry, { credentials: creds, ...(o.signal ? { signal: o.signal } : {}) });
  const path = o.configPath ?? o.client.config.dockerConfigPath;
  await new DockerConfigKeychain(path ? { path } : {}).save(canonicalHost(o.registry), creds);
  return "Login Succeeded";
}

/** Removes stored credentials. @returns false when there were none ("Not logged in to <host>"). */
export async function logout(o: { registry: string; configPath?: string }): Promise<boolean> {
  return new DockerConfigKeychain(o.configPath ? { path: o.configPath } : {}).erase(canonicalHost(o.registry));
}

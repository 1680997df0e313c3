/**
 * Credentials for registries, read from Docker's `~/.docker/config.json`
 * (ggcr pkg/authn DefaultKeychain). Three sources, as Docker consults them:
 * `credHelpers[host]` (runs `docker-credential-<name> get`), then `credsStore`
 * (same protocol, for every host), then `auths[host].auth` (base64 "user:pass"),
 * or `identitytoken`.
 *
 * Keys in `auths` may be written "host", "https://host" or
 * "https://host/v1/"; they are compared by host. Docker Hub's key is
 * "https://index.docker.io/v1/".
 *
 * `saveCredentials` / `eraseCredentials` write the file back in Docker's
 * format (mode 0600, written to a temp file then renamed), or hand the
 * secret to the configured credential helper.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rename, writeFile, chmod } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { invalidParameter, systemError } from "../core/index.ts";
import { canonicalHost, DOCKER_HUB, DOCKER_HUB_AUTH_KEY } from "./registry-hosts.ts";

/** username/password, or an identity (refresh) token when `identityToken` is set. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
  readonly identityToken?: string;
}

export interface Keychain {
  /** Credentials for a registry host[:port] (canonical: "docker.io" for Hub); undefined = anonymous. */
  resolve(registryHost: string, o?: { signal?: AbortSignal }): Promise<Credentials | undefined>;
}

/** A fixed map, for tests and for `login` validation. */
export class StaticKeychain implements Keychain {
  readonly #creds: ReadonlyMap<string, Credentials>;
  constructor(creds: Record<string, Credentials>) {
    this.#creds = new Map(Object.entries(creds).map(([k, v]) => [canonicalHost(k), v]));
  }
  async resolve(host: string): Promise<Credentials | undefined> {
    return this.#creds.get(canonicalHost(host));
  }
}

export function defaultDockerConfigPath(): string {
  const dir = process.env["DOCKER_CONFIG"];
  return dir ? join(dir, "config.json") : join(homedir(), ".docker", "config.json");
}

/** The key Docker uses in config.json for a registry host. */
export function authKey(registryHost: string): string {
  return canonicalHost(registryHost) === DOCKER_HUB ? DOCKER_HUB_AUTH_KEY : registryHost;
}

/** "https://index.docker.io/v1/" → "docker.io", "http://h:5000/x" → "h:5000". */
function keyHost(key: string): string {
  let k = key.replace(/^[a-z]+:\/\//i, "");
  const slash = k.indexOf("/");
  if (slash >= 0) k = k.slice(0, slash);
  return canonicalHost(k);
}

type DockerConfigFile = Record<string, unknown> & {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
};

async function readConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw systemError(`reading ${path}: ${(e as Error).message}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidParameter(`${path}: invalid JSON`, { cause: e });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalidParameter(`${path}: not a JSON object`);
  return v as DockerConfigFile;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin. */
export type HelperRunner = (helper: string, action: "get" | "store" | "erase", input: string) => Promise<string>;

const runHelper: HelperRunner = (helper, action, input) =>
  new Promise((resolve, reject) => {
    const child = execFile(`docker-credential-${helper}`, [action], { timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) {
        // Helpers print "credentials not found in native keychain" on stdout for a miss.
        if (action === "get" && /credentials not found/i.test(String(stdout))) resolve("");
        else reject(systemError(`docker-credential-${helper} ${action}: ${err.message.split("\n")[0]}`, { cause: err }));
        return;
      }
      resolve(stdout);
    });
    child.stdin?.end(input);
  });

export class DockerConfigKeychain implements Keychain {
  readonly path: string;
  readonly #run: HelperRunner;
  constructor(o: { path?: string; runHelper?: HelperRunner } = {}) {
    this.path = o.path ?? defaultDockerConfigPath();
    this.#run = o.runHelper ?? runHelper;
  }

  async resolve(registryHost: string): Promise<Credentials | undefined> {
    const host = canonicalHost(registryHost);
    const cfg = await readConfig(this.path);
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => keyHost(k) === host)?.[1] ?? cfg.credsStore;
    if (typeof helper === "string" && helper !== "") {
      const out = await this.#run(helper, "get", authKey(registryHost));
      if (out.trim() !== "") {
        const v = JSON.parse(out) as { Username?: string; Secret?: string };
        if (v.Username === "<token>") return { username: "", password: "", identityToken: v.Secret ?? "" };
        return { username: v.Username ?? "", password: v.Secret ?? "" };
      }
      if (cfg.credHelpers && Object.keys(cfg.credHelpers).some((k) => keyHost(k) === host)) return undefined;
    }
    for (const [k, entry] of Object.entries(cfg.auths ?? {})) {
      if (keyHost(k) !== host || typeof entry !== "object" || entry === null) continue;
      if (typeof entry.identitytoken === "string" && entry.identitytoken !== "")
        return { username: "", password: "", identityToken: entry.identitytoken };
      if (typeof entry.auth === "string" && entry.auth !== "") {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const i = decoded.indexOf(":");
        if (i < 0) throw invalidParameter(`${this.path}: invalid auth entry for ${k}`);
        return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
      }
      if (typeof entry.username === "string") return { username: entry.username, password: entry.password ?? "" };
    }
    return undefined;
  }

  /** Stores credentials as `docker login` does: in the helper if configured, else base64 in `auths`. */
  async save(registryHost: string, creds: Credentials): Promise<void> {
    const cfg = await readConfig(this.path);
    const key = authKey(registryHost);
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => keyHost(k) === canonicalHost(registryHost))?.[1] ?? cfg.credsStore;
    const auths = { ...(cfg.auths ?? {}) };
    for (const k of Object.keys(auths)) if (keyHost(k) === canonicalHost(registryHost)) delete auths[k];
    if (typeof helper === "string" && helper !== "") {
      await this.#run(helper, "store", JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }));
      auths[key] = {};
    } else {
      auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
    }
    await this.#write({ ...cfg, auths });
  }

  /** Removes stored credentials; false when there were none. */
  async erase(registryHost: string): Promise<boolean> {
    const cfg = await readConfig(this.path);
    const host = canonicalHost(registryHost);
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => keyHost(k) === host)?.[1] ?? cfg.credsStore;
    const auths = { ...(cfg.auths ?? {}) };
    const keys = Object.keys(auths).filter((k) => keyHost(k) === host);
    for (const k of keys) delete auths[k];
    let erased = keys.length > 0;
    if (typeof helper === "string" && helper !== "") {
      try {
        await this.#run(helper, "erase", authKey(registryHost));
        erased = true;
      } catch {
        /* nothing stored there */
      }
    }
    if (keys.length > 0) await this.#write({ ...cfg, auths });
    return erased;
  }

  async #write(cfg: DockerConfigFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${process.pid}-${Date.now()}`;
    await writeFile(tmp, `${JSON.stringify(cfg, null, "\t")}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }
}

/**
 * Real registries for tests: Debian's `docker-registry` (CNCF distribution
 * 2.8) on 127.0.0.1 with a free port and a temp storage dir, optionally with
 * htpasswd (bcrypt via the system python's crypt module), TLS (a self-signed
 * certificate made with openssl, laid out as a certs.d directory) or token
 * auth pointing at `startTokenServer` (a tiny RS256 JWT issuer in this
 * process). Tests gate on `requires("registry")`.
 *
 *   const reg = await startRegistry({ htpasswd: { username: "u", password: "p" } });
 *   try { ... reg.host ... } finally { await reg.stop(); }
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { mkdtemp, mkdir, readFile, rm, writeFile, copyFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findExecutable } from "./requires.ts";

export interface RegistryServerOptions {
  /** Basic auth with one user (htpasswd, bcrypt). */
  readonly htpasswd?: { readonly username: string; readonly password: string };
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1. */
  readonly tls?: boolean;
  /** Token auth against a token server (see startTokenServer). */
  readonly token?: { readonly realm: string; readonly service: string; readonly issuer: string; readonly rootCertBundle: string };
}

export interface RegistryServer {
  /** "127.0.0.1:<port>" */
  readonly host: string;
  readonly port: number;
  /** "http://127.0.0.1:<port>" or https. */
  readonly url: string;
  /** Temp directory holding config, storage and certificates. */
  readonly dir: string;
  /** With tls: a certs.d-style directory containing "<host>/ca.crt". */
  readonly certsDir?: string;
  /** With tls: the PEM certificate (also the CA). */
  readonly caPath?: string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** A bcrypt hash (what distribution's htpasswd needs), from the system python's crypt (libxcrypt); cost 4 keeps tests fast. */
export async function bcryptHash(password: string): Promise<string> {
  const py = findExecutable("/usr/bin/python3") ?? "python3";
  const out = await run(py, [
    "-W",
    "ignore",
    "-c",
    "import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
  ], password);
  const hash = out.trim();
  if (!hash.startsWith("$2")) throw new Error(`crypt did not produce a bcrypt hash: ${hash}`);
  return hash;
}

/** A self-signed RSA certificate for `cn` with the given IP/DNS SANs. */
export async function selfSignedCert(dir: string, name: string, o: { cn: string; ips?: string[]; dns?: string[] }): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const san = [...(o.ips ?? []).map((i) => `IP:${i}`), ...(o.dns ?? []).map((d) => `DNS:${d}`)];
  await run("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
    "-keyout", keyPath, "-out", certPath, "-subj", `/CN=${o.cn}`,
    ...(san.length > 0 ? ["-addext", `subjectAltName=${san.join(",")}`] : []),
  ]);
  return { certPath, keyPath };
}

async function waitReady(url: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(`${url}/v2/`, { method: "GET", rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200 || res.statusCode === 401);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => req.destroy());
      req.end();
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`docker-registry did not answer on ${url} within 20 s: ${logs()}`);
}

export async function startRegistry(o: RegistryServerOptions = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(join(tmpdir(), "berth-registry-"));
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const lines = [
      "version: 0.1",
      "log:",
      "  level: error",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "storage")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
    ];
    let certsDir: string | undefined;
    let caPath: string | undefined;
    if (o.tls) {
      const { certPath, keyPath } = await selfSignedCert(dir, "server", { cn: "127.0.0.1", ips: ["127.0.0.1"] });
      lines.push("  tls:", `    certificate: ${certPath}`, `    key: ${keyPath}`);
      certsDir = join(dir, "certs.d");
      await mkdir(join(certsDir, host), { recursive: true });
      await copyFile(certPath, join(certsDir, host, "ca.crt"));
      caPath = certPath;
    }
    if (o.htpasswd) {
      const file = join(dir, "htpasswd");
      await writeFile(file, `${o.htpasswd.username}:${await bcryptHash(o.htpasswd.password)}\n`);
      lines.push("auth:", "  htpasswd:", "    realm: berth-test", `    path: ${file}`);
    } else if (o.token) {
      lines.push(
        "auth:",
        "  token:",
        `    realm: ${o.token.realm}`,
        `    service: ${o.token.service}`,
        `    issuer: ${o.token.issuer}`,
        `    rootcertbundle: ${o.token.rootCertBundle}`,
      );
    }
    const configPath = join(dir, "config.yml");
    await writeFile(configPath, `${lines.join("\n")}\n`);
    const child = spawn("docker-registry", ["serve", configPath], { stdio: ["ignore", "ignore", "pipe"] });
    let log = "";
    child.stderr?.on("data", (d: Buffer) => {
      log = (log + d.toString()).slice(-8192);
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const url = `${o.tls ? "https" : "http"}://${host}`;
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = sleep(5000).then(() => "timeout");
        if ((await Promise.race([exited.then(() => "exit"), t])) === "timeout") {
          child.kill("SIGKILL");
          await exited;
        }
      }
      await rm(dir, { recursive: true, force: true });
    };
    try {
      await waitReady(url, child, () => log);
    } catch (e) {
      await stop();
      throw e;
    }
    return { host, port, url, dir, ...(certsDir ? { certsDir } : {}), ...(caPath ? { caPath } : {}), stop };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

export interface TokenServer {
  /** The realm URL to configure in the registry ("http://127.0.0.1:<port>/token"). */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** PEM certificate the registry trusts (rootcertbundle). */
  readonly rootCertBundle: string;
  /** Token requests served, and the scopes of the last one. */
  readonly stats: { requests: number; denied: number; lastScopes: string[] };
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

/**
 * A token server (distribution docs/spec/auth/token.md): GET /token?service&scope
 * with optional Basic credentials; issues RS256 JWTs with an x5c header the
 * registry verifies against `rootCertBundle`. Anonymous users get `pull` only
 * when `anonymousPull`; known users get what they ask for.
 */
export async function startTokenServer(o: { users?: Record<string, string>; anonymousPull?: boolean; expiresIn?: number } = {}): Promise<TokenServer> {
  const dir = await mkdtemp(join(tmpdir(), "berth-token-"));
  const { certPath, keyPath } = await selfSignedCert(dir, "token", { cn: "berth-token-issuer" });
  const keyPem = await readFile(keyPath, "utf8");
  const certDer = new X509Certificate(await readFile(certPath)).raw;
  const service = "berth-test-registry";
  const issuer = "berth-test-issuer";
  const stats = { requests: 0, denied: 0, lastScopes: [] as string[] };
  const srv: Server = createHttpServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/token") {
      res.writeHead(404).end();
      return;
    }
    stats.requests++;
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith("Basic ")) {
      const [name, ...rest] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      if (name === undefined || o.users?.[name] !== rest.join(":")) {
        stats.denied++;
        res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "incorrect username or password" }] }));
        return;
      }
      user = name;
    }
    const scopes = u.searchParams.getAll("scope");
    stats.lastScopes = scopes;
    const access = scopes.flatMap((s) => {
      const m = /^([^:]+):(.+):([^:]+)$/.exec(s);
      if (!m) return [];
      const want = (m[3] ?? "").split(",");
      const actions = user !== undefined ? want : o.anonymousPull ? want.filter((a) => a === "pull") : [];
      return [{ type: m[1], name: m[2], actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", alg: "RS256", x5c: [certDer.toString("base64")] };
    const claims = { iss: issuer, sub: user ?? "", aud: service, exp: now + (o.expiresIn ?? 300), nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = createSign("RSA-SHA256").update(signingInput).sign(keyPem);
    const token = `${signingInput}.${b64url(sig)}`;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: o.expiresIn ?? 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === "string") throw new Error("no address");
  return {
    realm: `http://127.0.0.1:${addr.port}/token`,
    service,
    issuer,
    rootCertBundle: certPath,
    stats,
    async stop() {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

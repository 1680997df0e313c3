/**
 * `WWW-Authenticate` parsing (RFC 7235 challenges as registries send them:
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull"`)
 * and the bearer-token cache (Docker token auth, distribution docs/spec/auth/token.md).
 */

export interface Challenge {
  readonly scheme: "bearer" | "basic";
  readonly params: Readonly<Record<string, string>>;
}

/** Parses the first Bearer or Basic challenge of a header value; undefined when none. */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  let basic: Challenge | undefined;
  for (const v of values) {
    const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(v);
    if (!m) continue;
    const scheme = (m[1] ?? "").toLowerCase();
    if (scheme !== "bearer" && scheme !== "basic") continue;
    const params: Record<string, string> = {};
    const re = /([A-Za-z_][\w.-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
    const rest = m[2] ?? "";
    let p: RegExpExecArray | null;
    while ((p = re.exec(rest)) !== null) {
      const key = (p[1] ?? "").toLowerCase();
      params[key] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
    }
    if (scheme === "bearer") return { scheme, params };
    basic ??= { scheme, params };
  }
  return basic;
}

/** Bearer tokens by realm, service and scope set, until they expire. */
export class TokenCache {
  readonly #tokens = new Map<string, { token: string; expiresAt: number }>();
  readonly #now: () => number;
  constructor(o: { now?: () => number } = {}) {
    this.#now = o.now ?? Date.now;
  }
  static key(realm: string, service: string, scopes: readonly string[]): string {
    return `${realm}\n${service}\n${[...scopes].sort().join(" ")}`;
  }
  get(key: string): string | undefined {
    const t = this.#tokens.get(key);
    if (t === undefined) return undefined;
    if (t.expiresAt <= this.#now()) {
      this.#tokens.delete(key);
      return undefined;
    }
    return t.token;
  }
  /** Keeps a token for `expiresInSec` (at least 60 s, the spec's default) less a 10 s margin. */
  set(key: string, token: string, expiresInSec: number | undefined): void {
    const life = Math.max(60, expiresInSec ?? 60) - 10;
    this.#tokens.set(key, { token, expiresAt: this.#now() + life * 1000 });
  }
  delete(key: string): void {
    this.#tokens.delete(key);
  }
}

/**
 * Image references ("name[:tag][@digest]"), parsed and normalised the way
 * Docker does it (github.com/distribution/reference: regexp.go, reference.go,
 * normalize.go).
 *
 * Grammar:
 *   reference      := name [ ":" tag ] [ "@" digest ]
 *   name           := [domain "/"] path
 *   domain         := host [":" port]          host: DNS-ish name, IPv4, or [IPv6]
 *   path           := component ("/" component)*
 *   component      := [a-z0-9]+ (separator [a-z0-9]+)*   separator: "." | "_" | "__" | "-"+
 *   tag            := [\w][\w.-]{0,127}
 *
 * Normalisation (familiar → full): the first path element is a domain only if it
 * contains "." or ":", is "localhost", or contains upper case; otherwise the
 * domain is "docker.io". "index.docker.io" becomes "docker.io", and single
 * element Docker Hub names get the "library/" prefix. A `Reference` returned
 * from this module is always normalised: `domain` is never empty.
 *
 * Invariants: `path` is at most 255 characters; `tag` matches the tag grammar;
 * `digest` is a valid sha256 digest (berth stores sha256 content only).
 */
import { invalidParameter, parseDigest, type Digest } from "../core/index.ts";

export interface Reference {
  /** Registry host with optional port: "docker.io", "localhost:5000", "[::1]:5000". */
  readonly domain: string;
  /** Repository path inside the registry: "library/node", "user/app". */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DEFAULT_DOMAIN = "docker.io";
export const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
export const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";
export const REPOSITORY_NAME_MAX_LENGTH = 255;

// Building blocks, as in distribution/reference regexp.go.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainAndPort = `(?:${domainName}|${ipv6})(?::[0-9]+)?`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const REFERENCE_RE = new RegExp(
  `^((?:${domainAndPort}/)?${remoteName})(?::(${tagPat}))?(?:@(${digestPat}))?$`,
);
const NAME_RE = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const TAG_RE = new RegExp(`^${tagPat}$`);
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const ID_OR_PREFIX_RE = /^(?:sha256:[a-f0-9]{64}|[a-f0-9]{1,64})$/;

const invalidFormat = () => invalidParameter("invalid reference format");

/**
 * Validates a digest inside a reference with go-digest's wording.
 * @throws invalid-parameter
 */
function referenceDigest(s: string): Digest {
  const colon = s.indexOf(":");
  const alg = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (alg === "sha256") {
    if (hex.length !== 64) throw invalidParameter("invalid checksum digest length");
    if (!/^[a-f0-9]{64}$/.test(hex)) throw invalidParameter("invalid checksum digest format");
    return parseDigest(s);
  }
  throw invalidParameter("unsupported digest algorithm");
}

/** distribution/reference Parse on an already domain-qualified string. */
function parseQualified(s: string): Reference {
  if (s === "") throw invalidParameter("repository name must have at least one component");
  const m = REFERENCE_RE.exec(s);
  if (m === null) {
    const lower = s.toLowerCase();
    if (lower !== s && REFERENCE_RE.test(lower)) {
      throw invalidParameter("invalid reference format: repository name must be lowercase");
    }
    throw invalidFormat();
  }
  const name = m[1] ?? "";
  const nm = NAME_RE.exec(name);
  const domain = nm?.[1] ?? "";
  const path = nm?.[2] ?? name;
  if (path.length > REPOSITORY_NAME_MAX_LENGTH) {
    throw invalidParameter(`repository name must not be more than ${REPOSITORY_NAME_MAX_LENGTH} characters`);
  }
  const tag = m[2];
  const digest = m[3] === undefined ? undefined : referenceDigest(m[3]);
  return build(domain, path, tag, digest);
}

function build(domain: string, path: string, tag: string | undefined, digest: Digest | undefined): Reference {
  const r: { domain: string; path: string; tag?: string; digest?: Digest } = { domain, path };
  if (tag !== undefined && tag !== "") r.tag = tag;
  if (digest !== undefined) r.digest = digest;
  return Object.freeze(r);
}

/** normalize.go splitDockerDomain: [domain, remainder] with defaults applied. */
function splitDockerDomain(s: string): [string, string] {
  const slash = s.indexOf("/");
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + s];
  const first = s.slice(0, slash);
  let rest = s.slice(slash + 1);
  let domain: string;
  if (first === "localhost") domain = first;
  else if (first === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  else if (/[.:]/.test(first)) domain = first;
  else if (first.toLowerCase() !== first) domain = first;
  else {
    domain = DEFAULT_DOMAIN;
    rest = s;
  }
  if (domain === DEFAULT_DOMAIN && !rest.includes("/")) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/**
 * Parses a familiar ("node", "user/app:1", "localhost:5000/a@sha256:…") or full
 * reference and normalises it. No default tag is added.
 * @throws invalid-parameter "invalid reference format", "invalid reference format:
 *   repository name (library/Node) must be lowercase", "invalid repository name
 *   (<64 hex>), cannot specify 64-byte hexadecimal strings", digest errors.
 */
export function parseReference(s: string): Reference {
  if (IDENTIFIER_RE.test(s)) {
    throw invalidParameter(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) {
    throw invalidParameter(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  return parseQualified(`${domain}/${remainder}`);
}

/** As `parseReference`, then adds tag "latest" when neither tag nor digest is given (TagNameOnly). */
export function parseNormalizedNamed(s: string): Reference {
  return tagNameOnly(parseReference(s));
}

/** Alias of `parseNormalizedNamed`: parse, normalise and default the tag. */
export function normalizeReference(s: string): Reference {
  return parseNormalizedNamed(s);
}

/** Adds the default tag when the reference has neither tag nor digest. */
export function tagNameOnly(r: Reference): Reference {
  return r.tag === undefined && r.digest === undefined ? withTag(r, DEFAULT_TAG) : r;
}

/** The full repository name: "docker.io/library/node". */
export function referenceName(r: Reference): string {
  return r.domain === "" ? r.path : `${r.domain}/${r.path}`;
}

function suffix(r: Reference): string {
  return (r.tag === undefined ? "" : `:${r.tag}`) + (r.digest === undefined ? "" : `@${r.digest}`);
}

/** The full reference: "docker.io/library/node:latest", "…@sha256:…", "name:tag@digest". */
export function referenceString(r: Reference): string {
  return referenceName(r) + suffix(r);
}

/** The name as Docker shows it: "node", "user/app", "localhost:5000/a/b", "library/a/b". */
export function familiarName(r: Reference): string {
  if (r.domain !== DEFAULT_DOMAIN) return referenceName(r);
  if (r.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = r.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes("/")) return rest;
  }
  return r.path;
}

/** The reference as Docker shows it: "node:latest", "user/app@sha256:…". */
export function familiarString(r: Reference): string {
  return familiarName(r) + suffix(r);
}

/** A copy with the tag replaced (a digest is kept). @throws invalid-parameter "invalid tag format" */
export function withTag(r: Reference, tag: string): Reference {
  if (!TAG_RE.test(tag)) throw invalidParameter("invalid tag format");
  return build(r.domain, r.path, tag, r.digest);
}

/** A copy with the digest replaced (a tag is kept). @throws invalid-parameter "invalid digest format" */
export function withDigest(r: Reference, digest: Digest): Reference {
  if (!new RegExp(`^${digestPat}$`).test(digest)) throw invalidParameter("invalid digest format");
  return build(r.domain, r.path, r.tag, referenceDigest(digest));
}

/** The reference without tag and digest. */
export function trimNamed(r: Reference): Reference {
  return build(r.domain, r.path, undefined, undefined);
}

/** True if `s` is a valid tag. */
export function isValidTag(s: string): boolean {
  return TAG_RE.test(s);
}

/**
 * True if `s` can be an image ID: 64 hex, "sha256:" + 64 hex, or a hex prefix of
 * one. Docker treats a 64-hex string as an ID and never as a name
 * (`parseReference` rejects it); a shorter hex string may be either, so callers
 * try it as a name first and then as an ID prefix.
 */
export function looksLikeImageId(s: string): boolean {
  return ID_OR_PREFIX_RE.test(s);
}

/** True if `s` is a full image ID (64 hex, optionally with "sha256:"). */
export function isFullImageId(s: string): boolean {
  return IDENTIFIER_RE.test(s.startsWith("sha256:") ? s.slice(7) : s);
}

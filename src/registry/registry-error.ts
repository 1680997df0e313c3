/**
 * Registry errors: the distribution spec's error body
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes)
 * parsed into a `RegistryError`, and the one place that turns it into an
 * `EngineError` kind (moby `translatePullError`). Nothing outside registry/
 * sees a `RegistryError` without an EngineError around it.
 */
import {
  EngineError,
  dataLoss,
  isEngineError,
  notFound,
  unauthorized,
  unavailable,
  cancelled,
  invalidParameter,
  kindOf,
} from "../core/index.ts";

export interface Diagnostic {
  readonly code: string;
  readonly message: string;
  readonly detail?: unknown;
}

/** Codes a client may retry (ggcr transport/error.go temporaryErrorCodes). */
const TEMPORARY_CODES = new Set(["BLOB_UPLOAD_INVALID", "TOOMANYREQUESTS", "UNAVAILABLE"]);

/** An HTTP error answer from a registry. `url` is already redacted. */
export class RegistryError extends Error {
  readonly status: number;
  readonly diagnostics: readonly Diagnostic[];
  readonly method: string;
  readonly url: string;
  constructor(o: { status: number; diagnostics: readonly Diagnostic[]; method: string; url: string; statusText?: string }) {
    const what =
      o.diagnostics.length > 0
        ? o.diagnostics.map((d) => `${d.code.toLowerCase().replaceAll("_", " ")}: ${d.message}`).join("; ")
        : `unexpected status code ${o.status}${o.statusText ? ` ${o.statusText}` : ""}`;
    super(`${o.method} ${o.url}: ${what}`);
    this.name = "RegistryError";
    this.status = o.status;
    this.diagnostics = o.diagnostics;
    this.method = o.method;
    this.url = o.url;
  }
  /** 5xx (except 501), 429 and temporary codes may succeed when retried. */
  get temporary(): boolean {
    if (this.status === 429 || (this.status >= 500 && this.status !== 501)) return true;
    return this.diagnostics.some((d) => TEMPORARY_CODES.has(d.code));
  }
  has(code: string): boolean {
    return this.diagnostics.some((d) => d.code === code);
  }
}

/** Reads at most 64 KiB of an error body (ggcr caps it the same way). */
export const MAX_ERROR_BODY = 64 * 1024;

/** Parses `{"errors":[{code,message,detail}]}`; anything else gives no diagnostics. */
export function parseErrorBody(body: string): Diagnostic[] {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return [];
  }
  if (typeof v !== "object" || v === null) return [];
  const errs = (v as { errors?: unknown }).errors;
  if (!Array.isArray(errs)) return [];
  const out: Diagnostic[] = [];
  for (const e of errs) {
    if (typeof e !== "object" || e === null) continue;
    const { code, message, detail } = e as Record<string, unknown>;
    if (typeof code !== "string") continue;
    out.push({ code, message: typeof message === "string" ? message : "", ...(detail === undefined ? {} : { detail }) });
  }
  return out;
}

const SECRET_QUERY = /^(?:_state|x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|access_token|password|key-pair-id|policy|expires)$/i;

/** Removes userinfo and secret query values from a URL, for messages and logs (ggcr redact.URL). */
export function redactUrl(u: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(u));
  } catch {
    return "<invalid url>";
  }
  if (url.username || url.password) {
    url.username = "REDACTED";
    url.password = "";
  }
  for (const k of [...url.searchParams.keys()]) {
    if (SECRET_QUERY.test(k)) url.searchParams.set(k, "REDACTED");
  }
  return url.toString();
}

/** What the caller was doing, for Docker-compatible wording. */
export interface ErrorContext {
  readonly op: "pull" | "push" | "login" | "tags";
  /** Familiar repository name, "node" or "127.0.0.1:5000/x". */
  readonly repo: string;
  /** Familiar reference, "node:latest". */
  readonly ref?: string;
}

/**
 * Converts anything thrown inside registry/ into an EngineError (classified
 * once, here). Already-classified errors pass through.
 */
export function toEngineError(err: unknown, ctx: ErrorContext): EngineError {
  if (isEngineError(err)) return err;
  if (kindOf(err) === "cancelled") return cancelled("operation cancelled", { cause: err });
  if (err instanceof RegistryError) {
    const detail = { status: err.status, codes: err.diagnostics.map((d) => d.code) };
    const first = err.diagnostics[0];
    const codeText = first ? `${first.code.toLowerCase().replaceAll("_", " ")}: ${first.message}` : `status ${err.status}`;
    if (err.temporary) return unavailable(`${ctx.op} ${ctx.repo}: ${err.message}`, { cause: err, detail });
    if (ctx.op === "pull" && (err.has("MANIFEST_UNKNOWN") || (err.status === 404 && err.diagnostics.length === 0 && ctx.ref)))
      return notFound(`manifest for ${ctx.ref ?? ctx.repo} not found: ${codeText}`, { cause: err, detail });
    if (
      ctx.op === "pull" &&
      (err.has("NAME_UNKNOWN") || err.has("DENIED") || err.has("UNAUTHORIZED") || err.status === 401 || err.status === 403)
    )
      return notFound(
        `pull access denied for ${ctx.repo}, repository does not exist or may require 'docker login': ${codeText}`,
        { cause: err, detail },
      );
    if (err.has("UNAUTHORIZED") || err.status === 401) return unauthorized(`${ctx.op} ${ctx.repo}: ${codeText}`, { cause: err, detail });
    if (err.has("DENIED") || err.status === 403)
      return unauthorized(`${ctx.op} ${ctx.repo}: ${codeText}`, { cause: err, detail });
    if (err.has("BLOB_UNKNOWN") || err.has("NAME_UNKNOWN") || err.has("MANIFEST_UNKNOWN") || err.status === 404)
      return notFound(`${ctx.op} ${ctx.repo}: ${codeText}`, { cause: err, detail });
    if (err.has("DIGEST_INVALID") || err.has("SIZE_INVALID")) return dataLoss(`${ctx.op} ${ctx.repo}: ${codeText}`, { cause: err, detail });
    if (err.has("MANIFEST_INVALID") || err.has("MANIFEST_BLOB_UNKNOWN") || err.has("NAME_INVALID") || err.has("TAG_INVALID") || err.status === 400)
      return invalidParameter(`${ctx.op} ${ctx.repo}: ${codeText}`, { cause: err, detail });
    return new EngineError("unknown", `${ctx.op} ${ctx.repo}: ${err.message}`, { cause: err, detail });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return unavailable(`${ctx.op} ${ctx.repo}: ${msg}`, { cause: err });
}

/**
 * Errors, classified once by kind (STYLE.md part 2c).
 *
 * Every error that crosses a module boundary is an `EngineError` with a `kind`.
 * Classify where the meaning is known; add context on the way up with
 * `{ cause }`; never re-classify by reading message text. The CLI maps kinds to
 * exit codes (125 for engine errors) and the API maps kinds to HTTP statuses.
 */

export const ErrorKinds = [
  "not-found",
  "invalid-parameter",
  "conflict",
  "not-modified",
  "unauthorized",
  "forbidden",
  "not-implemented",
  "unavailable",
  "cancelled",
  "deadline",
  "data-loss",
  "system",
  "unknown",
] as const;
export type ErrorKind = (typeof ErrorKinds)[number];

const brand = Symbol.for("berth.engine.error");

export interface EngineErrorOptions extends ErrorOptions {
  readonly detail?: Readonly<Record<string, unknown>>;
}

export class EngineError extends Error {
  readonly kind: ErrorKind;
  /** Stable code in undici style: ENGINE_NOT_FOUND, ENGINE_DATA_LOSS, ... */
  readonly code: string;
  readonly detail: Readonly<Record<string, unknown>> | undefined;
  readonly [brand] = true;

  constructor(kind: ErrorKind, message: string, options: EngineErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = "EngineError";
    this.kind = kind;
    this.code = `ENGINE_${kind.toUpperCase().replaceAll("-", "_")}`;
    this.detail = options.detail;
  }
}

export function isEngineError(err: unknown): err is EngineError {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[brand] === true;
}

/**
 * The outermost classified kind along the cause chain (moby errdefs Resolve).
 * AbortError anywhere counts as "cancelled"; anything unclassified is "unknown".
 */
export function kindOf(err: unknown): ErrorKind {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    if (isEngineError(e)) return e.kind;
    if (e instanceof Error && e.name === "AbortError") return "cancelled";
    if (e instanceof AggregateError) queue.push(...e.errors);
    if (e instanceof Error && e.cause !== undefined) queue.push(e.cause);
  }
  return "unknown";
}

const make =
  (kind: ErrorKind) =>
  (message: string, options?: EngineErrorOptions): EngineError =>
    new EngineError(kind, message, options);

export const notFound = make("not-found");
export const invalidParameter = make("invalid-parameter");
export const conflict = make("conflict");
export const notModified = make("not-modified");
export const unauthorized = make("unauthorized");
export const forbidden = make("forbidden");
export const notImplemented = make("not-implemented");
export const unavailable = make("unavailable");
export const cancelled = make("cancelled");
export const deadline = make("deadline");
export const dataLoss = make("data-loss");
export const systemError = make("system");

/** Throws `cancelled` if the signal has fired. Call at the top of each step of a long operation. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelled("operation cancelled", { cause: signal.reason });
}

/** docker's --pull values for run, create and build (a module of its own: the CLI reads it without loading the registry client). */
import { invalidParameter } from "../core/index.ts";

export type PullPolicy = "missing" | "always" | "never";

/** "--pull" flag value → policy. @throws invalid-parameter */
export function parsePullPolicy(s: string | undefined): PullPolicy {
  if (s === undefined || s === "" || s === "missing") return "missing";
  if (s === "always" || s === "never") return s;
  throw invalidParameter(`invalid pull option: '${s}': must be one of "always", "missing" or "never"`);
}

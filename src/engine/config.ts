/**
 * Where berth keeps things and how it reaches registries. Defaults follow
 * DESIGN.md; a JSON config file (default /etc/berth/config.json, or
 * $BERTH_CONFIG) and environment variables override them:
 *
 *   BERTH_ROOT     data root        (default /var/lib/berth)
 *   BERTH_RUNROOT  run-time state   (default /run/berth)
 *   BERTH_CONFIG   config file path
 *
 * config.json (all keys optional):
 *   { "root": "/var/lib/berth", "runroot": "/run/berth",
 *     "registry-mirrors": ["http://127.0.0.1:5000"],      // for docker.io, as dockerd's daemon.json
 *     "insecure-registries": ["myreg:5000"],
 *     "runtime": "runc" }
 */
import { readFileSync } from "node:fs";
import { invalidParameter } from "../core/index.ts";

export interface EngineConfig {
  readonly root: string;
  readonly runRoot: string;
  readonly configFile: string;
  readonly registryMirrors: readonly string[];
  readonly insecureRegistries: readonly string[];
  readonly runtime: string | undefined;
  /** SOURCE_DATE_EPOCH, when set: pins created times for reproducible images. */
  readonly sourceDateEpoch: Date | undefined;
}

function strings(v: unknown, key: string, file: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw invalidParameter(`${file}: "${key}" must be a list of strings`);
  return v as string[];
}

export function loadEngineConfig(env: Readonly<Record<string, string | undefined>>): EngineConfig {
  const configFile = env["BERTH_CONFIG"] ?? "/etc/berth/config.json";
  let file: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(configFile, "utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidParameter(`${configFile}: not a JSON object`);
    file = parsed as Record<string, unknown>;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw invalidParameter(`cannot read berth config ${configFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const str = (k: string): string | undefined => (typeof file[k] === "string" ? (file[k] as string) : undefined);
  return {
    root: env["BERTH_ROOT"] ?? str("root") ?? "/var/lib/berth",
    runRoot: env["BERTH_RUNROOT"] ?? str("runroot") ?? "/run/berth",
    configFile,
    registryMirrors: strings(file["registry-mirrors"], "registry-mirrors", configFile),
    insecureRegistries: strings(file["insecure-registries"], "insecure-registries", configFile),
    runtime: env["BERTH_RUNTIME"] ?? str("runtime"),
    sourceDateEpoch: parseEpoch(env["SOURCE_DATE_EPOCH"]),
  };
}

function parseEpoch(v: string | undefined): Date | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d+$/.test(v)) throw invalidParameter(`invalid SOURCE_DATE_EPOCH: ${v}`);
  return new Date(Number(v) * 1000);
}

/**
 * The collaborators every engine operation uses, built once per process by
 * `Engine.open` (the CLI opens it on first use) and passed to the operation
 * functions.
 */
import type { ContentStore } from "../content/content-store.ts";
import type { ImageStore } from "../images/image-store.ts";
import type { Database } from "../state/index.ts";
import type { EngineConfig } from "./config.ts";

export interface EngineContext {
  readonly config: EngineConfig;
  readonly db: Database;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly now: () => Date;
  /** The host's platform as OCI names it (amd64, arm64, ...). */
  readonly platform: { readonly os: string; readonly architecture: string; readonly variant?: string };
}

/** Node's process.arch → OCI/Go GOARCH names. */
export function hostPlatform(): { os: string; architecture: string; variant?: string } {
  const map: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };
  const architecture = map[process.arch] ?? process.arch;
  return architecture === "arm64" ? { os: "linux", architecture, variant: "v8" } : { os: "linux", architecture };
}

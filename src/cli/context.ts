/** What a CLI verb receives: the process's streams and a lazily opened engine. */
import type { Engine, EngineConfig } from "../engine/index.ts";
import type { CliIo } from "./command.ts";

export interface CliContext {
  readonly io: CliIo;
  readonly config: EngineConfig;
  /** Opens the engine on first use (verbs like `version` never pay for it). */
  engine(): Promise<Engine>;
  /** "berth": the name used in usage and error lines. */
  readonly prog: string;
}

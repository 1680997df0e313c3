/**
 * The variable scope of one build stage, as Docker keeps it while it walks the
 * stage's instructions (BuildKit dockerfile2llb dispatchEnv / dispatchArg).
 *
 * Two maps:
 * - `env`: the image environment: the base image's config Env, then each ENV.
 *   This is what ends up in the built image's config.
 * - `args`: the ARGs declared in this stage with a value. They are visible to
 *   expansion and to RUN, but are not written into the image.
 *
 * Rules:
 * - expansion sees `args` overlaid by `env`: an ENV always wins over an ARG
 *   of the same name (Dockerfile reference, "Using ARG variables");
 * - all pairs of one ENV (or ARG) instruction are expanded against the scope
 *   from before that instruction;
 * - `ARG k[=d]` takes the build argument, else the expanded default, else the
 *   global ARG of that name, else it is declared without a value;
 * - RUN additionally sees the proxy build arguments (HTTP_PROXY, ...) without
 *   any ARG instruction.
 *
 * Pure and synchronous; one instance per stage, fed instructions in order.
 *
 * Example:
 *   const scope = new StageEnv({ baseEnv: image.config.Env ?? [], buildArgs, globalArgs: df.globalArgs });
 *   for (const cmd of stage.commands) {
 *     const { instruction, matched } = scope.step(cmd);   // expanded, scope updated
 *     // cache key: instruction definition + values of `matched` + inputs
 *   }
 */
import { envListToMap, type EscapeToken } from "./shell.ts";
import { expandInstruction, PROXY_ARGS, resolveStageArg, type ExpandedInstruction, type Instruction } from "./instructions.ts";

export interface StageEnvOptions {
  /** The base image's config Env (`K=V` strings). */
  readonly baseEnv?: readonly string[];
  /** `--build-arg` values. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** `Dockerfile.globalArgs` from parseDockerfile. */
  readonly globalArgs?: ReadonlyMap<string, string>;
  readonly escape?: EscapeToken;
  /** For located errors; default `Dockerfile`. */
  readonly file?: string;
}

export class StageEnv {
  /** Image environment (base image Env + ENV instructions), in insertion order. */
  readonly env: Map<string, string>;
  /** ARG values declared in this stage. */
  readonly args = new Map<string, string>();
  readonly #buildArgs: Readonly<Record<string, string>>;
  readonly #globalArgs: ReadonlyMap<string, string>;
  readonly #escape: EscapeToken | undefined;
  readonly #file: string | undefined;

  constructor(options: StageEnvOptions = {}) {
    this.env = envListToMap(options.baseEnv ?? []);
    this.#buildArgs = options.buildArgs ?? {};
    this.#globalArgs = options.globalArgs ?? new Map();
    this.#escape = options.escape;
    this.#file = options.file;
  }

  /** What `$NAME` resolves to at this point: ARGs overlaid by ENV. */
  lookup(): Map<string, string> {
    return new Map([...this.args, ...this.env]);
  }

  /**
   * Expands `inst` against the current scope, then applies its effect on the
   * scope (ENV sets `env`, ARG sets `args`).
   * @throws invalid-parameter (located) on a bad substitution.
   */
  step<T extends Instruction>(inst: T): ExpandedInstruction<T> {
    const r = expandInstruction(inst, this.lookup(), {
      ...(this.#escape === undefined ? {} : { escape: this.#escape }),
      ...(this.#file === undefined ? {} : { file: this.#file }),
    });
    const out = r.instruction as Instruction;
    if (out.kind === "env") {
      for (const p of out.pairs) this.env.set(p.key, p.value);
    } else if (out.kind === "arg") {
      for (const a of out.args) {
        const v = resolveStageArg(a.key, a.value, { buildArgs: this.#buildArgs, globalArgs: this.#globalArgs });
        if (v !== undefined) this.args.set(a.key, v);
      }
    }
    return r;
  }

  /**
   * The environment of a RUN step, `K=V` strings: image env, then stage ARGs
   * not shadowed by ENV, then proxy build arguments not otherwise set.
   */
  runEnv(): string[] {
    const m = new Map(this.env);
    for (const [k, v] of this.args) if (!m.has(k)) m.set(k, v);
    for (const k of PROXY_ARGS) {
      const v = Object.hasOwn(this.#buildArgs, k) ? this.#buildArgs[k] : undefined;
      if (v !== undefined && !m.has(k)) m.set(k, v);
    }
    return [...m].map(([k, v]) => `${k}=${v}`);
  }
}

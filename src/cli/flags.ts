/**
 * Command-line flags with the semantics of spf13/pflag, which docker uses:
 * `--name value`, `--name=value`, `-n value`, `-nvalue`, grouped booleans
 * (`-it`), `--bool=false`, repeatable list flags (`-e A -e B`), `--` ends flags.
 * With `interspersed: false` (run, exec, create) parsing stops at the first
 * positional argument, so `run img ls -l` leaves `-l` to the container.
 */
import { invalidParameter } from "../core/index.ts";

export type FlagType = "bool" | "string" | "strings" | "int";

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: FlagType;
  readonly description: string;
  readonly default?: string | boolean | number;
  readonly hidden?: boolean;
  /** Other long names (docker keeps some for compatibility). */
  readonly aliases?: readonly string[];
}

export type FlagValue = string | boolean | number | string[];

export interface ParsedFlags {
  readonly flags: Readonly<Record<string, FlagValue | undefined>>;
  /** Names of the flags given on the command line. */
  readonly set: ReadonlySet<string>;
  readonly args: readonly string[];
}

export class FlagSet {
  readonly #specs: readonly FlagSpec[];
  readonly #byLong = new Map<string, FlagSpec>();
  readonly #byShort = new Map<string, FlagSpec>();

  constructor(specs: readonly FlagSpec[]) {
    this.#specs = specs;
    for (const s of specs) {
      this.#byLong.set(s.name, s);
      for (const a of s.aliases ?? []) this.#byLong.set(a, s);
      if (s.short !== undefined) this.#byShort.set(s.short, s);
    }
  }

  get specs(): readonly FlagSpec[] {
    return this.#specs;
  }

  /** @throws invalid-parameter with pflag's wording ("unknown flag: --x") */
  parse(argv: readonly string[], o: { interspersed?: boolean } = {}): ParsedFlags {
    const interspersed = o.interspersed ?? true;
    const values: Record<string, FlagValue | undefined> = {};
    const set = new Set<string>();
    const args: string[] = [];
    for (const s of this.#specs) {
      if (s.type === "strings") values[s.name] = [];
      else values[s.name] = s.default ?? (s.type === "bool" ? false : undefined);
    }
    const assign = (spec: FlagSpec, raw: string | undefined, shown: string): void => {
      set.add(spec.name);
      switch (spec.type) {
        case "bool": {
          if (raw === undefined || raw === "true" || raw === "1") values[spec.name] = true;
          else if (raw === "false" || raw === "0") values[spec.name] = false;
          else throw invalidParameter(`invalid argument "${raw}" for "${shown}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
          return;
        }
        case "int": {
          const n = Number(raw);
          if (raw === undefined || raw.trim() === "" || !Number.isInteger(n))
            throw invalidParameter(`invalid argument "${raw ?? ""}" for "${shown}" flag: strconv.ParseInt: parsing "${raw ?? ""}": invalid syntax`);
          values[spec.name] = n;
          return;
        }
        case "strings":
          (values[spec.name] as string[]).push(raw ?? "");
          return;
        case "string":
          values[spec.name] = raw ?? "";
          return;
      }
    };
    let i = 0;
    while (i < argv.length) {
      const a = argv[i++]!;
      if (a === "--") {
        args.push(...argv.slice(i));
        break;
      }
      if (a.startsWith("--") && a.length > 2) {
        const eq = a.indexOf("=");
        const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
        const spec = this.#byLong.get(name);
        if (spec === undefined) throw invalidParameter(`unknown flag: --${name}`);
        let raw: string | undefined = eq === -1 ? undefined : a.slice(eq + 1);
        if (raw === undefined && spec.type !== "bool") {
          if (i >= argv.length) throw invalidParameter(`flag needs an argument: --${name}`);
          raw = argv[i++]!;
        }
        assign(spec, raw, `--${name}`);
        continue;
      }
      if (a.startsWith("-") && a.length > 1) {
        for (let j = 1; j < a.length; j++) {
          const c = a[j]!;
          const spec = this.#byShort.get(c);
          if (spec === undefined) throw invalidParameter(`unknown shorthand flag: '${c}' in ${a}`);
          const shown = `-${c}, --${spec.name}`;
          if (spec.type === "bool") {
            if (a[j + 1] === "=") {
              assign(spec, a.slice(j + 2), shown);
              break;
            }
            assign(spec, undefined, shown);
            continue;
          }
          let raw = a.slice(j + 1);
          if (raw.startsWith("=")) raw = raw.slice(1);
          if (raw === "") {
            if (i >= argv.length) throw invalidParameter(`flag needs an argument: '${c}' in -${c}`);
            raw = argv[i++]!;
          }
          assign(spec, raw, shown);
          break;
        }
        continue;
      }
      args.push(a);
      if (!interspersed) {
        args.push(...argv.slice(i));
        break;
      }
    }
    return { flags: values, set, args };
  }

  /** The "Options:" block of a usage text, as docker prints it. */
  usage(): string {
    const rows = this.#specs
      .filter((s) => s.hidden !== true)
      .map((s) => {
        const kind = s.type === "bool" ? "" : s.type === "int" ? " int" : s.type === "strings" ? " list" : " string";
        const left = `${s.short !== undefined ? `-${s.short}, ` : "    "}--${s.name}${kind}`;
        return [left, s.description] as const;
      });
    const width = Math.max(0, ...rows.map(([l]) => l.length));
    return rows.map(([l, d]) => `  ${l.padEnd(width)}   ${d}`).join("\n");
  }
}

/** Typed accessors over a parse result. */
export function flagString(p: ParsedFlags, name: string): string | undefined {
  const v = p.flags[name];
  return typeof v === "string" ? v : undefined;
}
export function flagBool(p: ParsedFlags, name: string): boolean {
  return p.flags[name] === true;
}
export function flagInt(p: ParsedFlags, name: string): number | undefined {
  const v = p.flags[name];
  return typeof v === "number" ? v : undefined;
}
export function flagList(p: ParsedFlags, name: string): string[] {
  const v = p.flags[name];
  return Array.isArray(v) ? v : [];
}

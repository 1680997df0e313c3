/**
 * `.dockerignore` with Docker's rules (moby/patternmatcher, used by the
 * docker CLI and BuildKit):
 *
 * - one pattern per line; `#` lines and blank lines are skipped; surrounding
 *   whitespace is trimmed; a leading `!` makes the pattern an exception;
 * - patterns are cleaned like Go's filepath.Clean, and a leading `/` is
 *   dropped (`/foo` and `foo` are the same: relative to the context root);
 * - `*` matches any run of non-`/` characters, `?` one non-`/` character,
 *   `[...]` a class, `\` escapes; `**` matches any number of directories
 *   (zero included): `**\/x`, `a/**\/b`, `a/**`;
 * - a path is excluded when the *last* pattern that matches it (or one of its
 *   parent directories) is not an exception.
 *
 * Pure code. The context reader uses `excludes` for every path and
 * `mayHaveExceptionsUnder` to decide whether an excluded directory must still
 * be walked (an exception may bring back something inside it).
 */
import { posix } from "node:path";

export interface IgnorePattern {
  /** The cleaned pattern, without `!`. */
  readonly pattern: string;
  readonly exclusion: boolean;
  readonly regexp: RegExp;
  /** Path components of the pattern, for the directory-walk shortcut. */
  readonly dirs: readonly string[];
}

/** Parses the text of a .dockerignore file into patterns (in order). */
export function parseDockerignore(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    let line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    let invert = false;
    if (line.startsWith("!")) {
      invert = true;
      line = line.slice(1).trim();
    }
    if (line.length > 0) {
      line = posix.normalize(line);
      if (line.length > 1 && line.endsWith("/")) line = line.slice(0, -1);
      while (line.startsWith("/") && line.length > 1) line = line.slice(1);
    }
    out.push(invert ? `!${line}` : line);
  }
  return out;
}

const SPECIAL = new Set([".", "+", "(", ")", "|", "{", "}", "$", "^"]);

/** Compiles one pattern (moby/patternmatcher Pattern.compile). */
export function compileIgnorePattern(p: string): RegExp {
  let re = "^";
  const chars = [...p];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          // "**" at the end matches everything (below this point).
          re += re === "^" ? ".*" : ".*";
        } else {
          re += "(.*/)?";
        }
      } else {
        re += "[^/]*";
      }
    } else if (ch === "?") {
      re += "[^/]";
    } else if (ch === "\\") {
      const next = chars[i + 1];
      if (next === undefined) re += "\\\\";
      else {
        re += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
        i++;
      }
    } else if (ch === "[") {
      // A character class: copied through up to its ']' ('!' or '^' negates).
      let j = i + 1;
      let cls = "[";
      if (chars[j] === "!" || chars[j] === "^") {
        cls += "^";
        j++;
      }
      while (j < chars.length && chars[j] !== "]") {
        const c = chars[j] as string;
        cls += c === "\\" ? `\\${chars[++j] ?? "\\"}` : c;
        j++;
      }
      if (j >= chars.length) {
        re += "\\[";
      } else {
        re += `${cls}]`;
        i = j;
      }
    } else if (SPECIAL.has(ch) || ch === "]") {
      re += `\\${ch}`;
    } else {
      re += ch;
    }
  }
  return new RegExp(`${re}$`, "s");
}

export class IgnoreMatcher {
  readonly patterns: readonly IgnorePattern[];
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    this.patterns = patterns
      .filter((p) => p !== "" && p !== "!")
      .map((p) => {
        const exclusion = p.startsWith("!");
        const pattern = exclusion ? p.slice(1) : p;
        return { pattern, exclusion, regexp: compileIgnorePattern(pattern), dirs: pattern.split("/") };
      });
    this.hasExceptions = this.patterns.some((p) => p.exclusion);
  }

  static fromText(text: string): IgnoreMatcher {
    return new IgnoreMatcher(parseDockerignore(text));
  }

  /**
   * Whether `relPath` (relative to the context root, `/`-separated, no
   * leading `/`) is excluded: the last pattern that matches the path or one
   * of its parents decides.
   */
  excludes(relPath: string): boolean {
    const file = posix.normalize(relPath).replace(/^\/+/, "");
    if (file === "." || file === "") return false;
    const parts = file.split("/");
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue; // cannot change the outcome
      let hit = p.regexp.test(file);
      if (!hit) {
        for (let i = 1; i < parts.length && !hit; i++) hit = p.regexp.test(parts.slice(0, i).join("/"));
      }
      if (hit) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * For an excluded directory: whether an exception pattern could match
   * something inside it, so the walk must go on into it.
   */
  mayHaveExceptionsUnder(relDir: string): boolean {
    if (!this.hasExceptions) return false;
    const dirParts = relDir.split("/");
    for (const p of this.patterns) {
      if (!p.exclusion) continue;
      if (p.pattern.includes("**")) return true;
      // The exception's leading components must be able to match the directory's.
      let ok = true;
      for (let i = 0; i < dirParts.length && i < p.dirs.length; i++) {
        if (!compileIgnorePattern(p.dirs[i] as string).test(dirParts[i] as string)) {
          ok = false;
          break;
        }
      }
      if (ok && p.dirs.length > dirParts.length) return true;
    }
    return false;
  }
}

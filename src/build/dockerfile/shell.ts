/**
 * Shell-word expansion for Dockerfile instructions (BuildKit frontend/dockerfile/shell).
 *
 * This is not a shell: it implements the subset of POSIX word processing that
 * Docker applies to the arguments of ADD, COPY, ENV, EXPOSE, FROM, LABEL,
 * STOPSIGNAL, USER, VOLUME, WORKDIR (and ARG defaults, ONBUILD is not expanded):
 *
 * - quotes: '...' is literal; "..." is literal except `$` expansions and the
 *   escape character before `"`, `$` or the escape character itself;
 * - the escape character (`\` by default, `` ` `` with `# escape=``) makes the
 *   next character literal;
 * - `$V`, `${V}` and the modifiers `${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m}
 *   ${V?m} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}`; patterns are
 *   shell globs (`*`, `?`, escaped literals; no bracket expressions, as in
 *   BuildKit). Unset variables expand to the empty string.
 *
 * `processWord` is the single engine; it returns the joined result (Docker's
 * ProcessWord), the result split into words after expansion (ProcessWords:
 * unquoted whitespace separates words, quoted whitespace does not), and the
 * set of variable names that were looked up and found / not found. The build
 * cache uses `matched`: a changed build ARG only invalidates the steps that
 * actually used it.
 *
 * Pure code, no I/O. Errors are `invalid-parameter` EngineErrors with the
 * BuildKit text (`failed to process "${x": syntax error: missing '}'`); callers
 * add the Dockerfile location.
 */
import { invalidParameter } from "../../core/errors.ts";

/** The escape characters a Dockerfile may choose with the `escape` directive. */
export type EscapeToken = "\\" | "`";

/** Variables visible to an expansion. Keys are case-sensitive (Linux). */
export type ShellEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export interface ShellOptions {
  /** Escape character; default `\`. */
  readonly escape?: EscapeToken;
}

export interface ProcessWordResult {
  /** The expanded word, quotes removed, whitespace kept (ProcessWord). */
  readonly result: string;
  /** The expanded word split into fields (ProcessWords). */
  readonly words: readonly string[];
  /** Names that were referenced and set in `env`. */
  readonly matched: ReadonlySet<string>;
  /** Names that were referenced but unset. */
  readonly unmatched: ReadonlySet<string>;
}

const EOF = "";

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}
function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}
const specialParams = new Set(["@", "*", "#", "?", "-", "$", "!", "0"]);

/** Collects fields: unquoted whitespace ends a field, quoted text never does. */
class Fields {
  word = "";
  inWord = false;
  readonly out: string[] = [];
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.out.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.word.length > 0) this.out.push(this.word);
    this.word = "";
    this.inWord = false;
    return this.out;
  }
}

class Lexer {
  readonly chars: string[];
  pos = 0;
  readonly escape: string;
  readonly env: ShellEnv;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(word: string, env: ShellEnv, escape: string) {
    this.chars = Array.from(word);
    this.env = env;
    this.escape = escape;
  }

  peek(): string {
    return this.chars[this.pos] ?? EOF;
  }
  next(): string {
    const ch = this.chars[this.pos] ?? EOF;
    if (ch !== EOF) this.pos++;
    return ch;
  }

  lookup(name: string): string | undefined {
    const v = this.env instanceof Map ? this.env.get(name) : (this.env as Readonly<Record<string, string>>)[name];
    const found = v !== undefined && (this.env instanceof Map || Object.hasOwn(this.env, name));
    if (found) this.matched.add(name);
    else this.unmatched.add(name);
    return found ? v : undefined;
  }

  /**
   * Reads until `stop` (consumed) or the end. `rawEscapes` keeps escape
   * characters in the output (used for glob patterns, which interpret them).
   */
  processUntil(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = "";
    const fields = new Fields();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { result, words: fields.finish() };
      }
      if (ch === "$") {
        const v = this.processDollar();
        result += v;
        fields.addString(v);
      } else if (ch === "'") {
        const v = this.processSingleQuote();
        result += v;
        fields.addRaw(v);
      } else if (ch === '"') {
        const v = this.processDoubleQuote(rawEscapes);
        result += v;
        fields.addRaw(v);
      } else {
        let c = this.next();
        if (c === this.escape) {
          if (rawEscapes) {
            fields.addRaw(c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break;
          fields.addRaw(c);
        } else {
          fields.addChar(c);
        }
        result += c;
      }
    }
    if (stop !== EOF) {
      throw new ShellSyntaxError(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { result, words: fields.finish() };
  }

  processSingleQuote(): string {
    this.next();
    let out = "";
    for (;;) {
      const ch = this.next();
      if (ch === EOF) throw new ShellSyntaxError("unexpected end of statement while looking for matching single-quote");
      if (ch === "'") return out;
      out += ch;
    }
  }

  processDoubleQuote(rawEscapes: boolean): string {
    this.next();
    let out = "";
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ShellSyntaxError("unexpected end of statement while looking for matching double-quote");
      if (p === '"') {
        this.next();
        return out;
      }
      if (p === "$") {
        out += this.processDollar();
        continue;
      }
      let ch = this.next();
      if (ch === this.escape) {
        if (rawEscapes) out += ch;
        const n = this.peek();
        if (n === EOF) continue;
        // Only these may be escaped inside double quotes; otherwise the escape stays.
        if (n === '"' || n === "$" || n === this.escape) ch = this.next();
      }
      out += ch;
    }
  }

  processName(): string {
    let name = "";
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (this.peek() !== EOF && isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && specialParams.has(ch)) return this.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== "_") break;
      name += this.next();
    }
    return name;
  }

  processDollar(): string {
    this.next(); // $
    if (this.peek() !== "{") {
      const name = this.processName();
      if (name === "") return "$";
      return this.lookup(name) ?? "";
    }
    this.next(); // {
    const first = this.peek();
    if (first === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (first === "{" || first === "}" || first === ":") throw new ShellSyntaxError("syntax error: bad substitution");
    const name = this.processName();
    let ch = this.next();
    let modifier = ch;
    if (ch === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
    if (ch === "}") return this.lookup(name) ?? "";
    if (ch === "/") {
      const all = this.peek() === "/";
      if (all) this.next();
      let pattern: string;
      let replacement: string;
      try {
        pattern = this.processUntil("/", true).result;
      } catch (e) {
        if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '/' in ${}");
        throw e;
      }
      try {
        replacement = this.processUntil("}", true).result;
      } catch (e) {
        if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
        throw e;
      }
      const value = this.lookup(name) ?? "";
      return replacePattern(value, pattern, unescapeDelims(replacement, this.escape), all);
    }
    let nullIsUnset = false;
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (ch !== "+" && ch !== "-" && ch !== "?" && ch !== "#" && ch !== "%") {
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
    if (nullIsUnset && (ch === "#" || ch === "%")) {
      throw new ShellSyntaxError(`unsupported modifier (${modifier}) in substitution`);
    }
    let word: string;
    try {
      word = this.processUntil("}", ch === "#" || ch === "%").result;
    } catch (e) {
      if (this.peek() === EOF) throw new ShellSyntaxError("syntax error: missing '}'");
      throw e;
    }
    const value = this.lookup(name);
    const unset = value === undefined || (nullIsUnset && value === "");
    switch (ch) {
      case "-":
        return unset ? word : (value ?? "");
      case "+":
        return unset ? "" : word;
      case "?":
        if (value === undefined) throw new ShellSyntaxError(`${name}: ${word === "" ? "is not allowed to be unset" : word}`);
        if (nullIsUnset && value === "") throw new ShellSyntaxError(`${name}: ${word === "" ? "is not allowed to be empty" : word}`);
        return value;
      default: {
        let greedy = false;
        if (word.startsWith(ch)) {
          greedy = true;
          word = word.slice(1);
        }
        return ch === "%" ? trimSuffixPattern(value ?? "", word, greedy) : trimPrefixPattern(value ?? "", word, greedy);
      }
    }
  }
}

/** Internal: a syntax error before the word's context is added. */
class ShellSyntaxError extends Error {}

function unescapeDelims(s: string, escape: string): string {
  let out = "";
  const cs = Array.from(s);
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i] ?? "";
    if (c === escape && (cs[i + 1] === "}" || cs[i + 1] === "/")) continue;
    out += c;
  }
  return out;
}

/**
 * Converts a shell glob (`*`, `?`, `\x` literal) into a regular expression
 * source. `}` and `/` escaped for the `${}` syntax lose their escape.
 */
export function globToRegExpSource(pattern: string, greedy: boolean): string {
  const cs = Array.from(pattern);
  let out = "";
  for (let i = 0; i < cs.length; i++) {
    const c = cs[i] ?? "";
    if (c === "*") out += greedy ? "[\\s\\S]*" : "[\\s\\S]*?";
    else if (c === "?") out += "[\\s\\S]";
    else if (c === "\\") {
      const n = cs[i + 1];
      if (n === undefined) throw new ShellSyntaxError(`invalid pattern (${pattern}) in substitution: trailing escape`);
      i++;
      out += escapeRegExp(n);
    } else out += escapeRegExp(c);
  }
  return out;
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function fullMatcher(pattern: string): RegExp {
  return new RegExp(`^(?:${globToRegExpSource(pattern, true)})$`, "u");
}

/** `${V#p}` (shortest) and `${V##p}` (longest): remove a matching prefix. */
function trimPrefixPattern(value: string, pattern: string, greedy: boolean): string {
  const re = fullMatcher(pattern);
  const cs = Array.from(value);
  if (greedy) {
    for (let i = cs.length; i >= 0; i--) if (re.test(cs.slice(0, i).join(""))) return cs.slice(i).join("");
  } else {
    for (let i = 0; i <= cs.length; i++) if (re.test(cs.slice(0, i).join(""))) return cs.slice(i).join("");
  }
  return value;
}

/** `${V%p}` (shortest) and `${V%%p}` (longest): remove a matching suffix. */
function trimSuffixPattern(value: string, pattern: string, greedy: boolean): string {
  const re = fullMatcher(pattern);
  const cs = Array.from(value);
  if (greedy) {
    for (let i = 0; i <= cs.length; i++) if (re.test(cs.slice(i).join(""))) return cs.slice(0, i).join("");
  } else {
    for (let i = cs.length; i >= 0; i--) if (re.test(cs.slice(i).join(""))) return cs.slice(0, i).join("");
  }
  return value;
}

/** `${V/p/r}` replaces the first (leftmost, longest) match, `${V//p/r}` every match. */
function replacePattern(value: string, pattern: string, replacement: string, all: boolean): string {
  if (pattern === "") return value;
  const re = new RegExp(globToRegExpSource(pattern, true), all ? "gu" : "u");
  return value.replace(re, () => replacement);
}

/**
 * Expands `word` against `env`.
 * @throws invalid-parameter on a syntax error or a failed `${V?msg}`.
 */
export function processWord(word: string, env: ShellEnv, options: ShellOptions = {}): ProcessWordResult {
  const lx = new Lexer(word, env, options.escape ?? "\\");
  try {
    const { result, words } = lx.processUntil(EOF, false);
    return { result, words, matched: lx.matched, unmatched: lx.unmatched };
  } catch (e) {
    if (e instanceof ShellSyntaxError) {
      throw invalidParameter(`failed to process ${JSON.stringify(word)}: ${e.message}`, { detail: { word } });
    }
    throw e;
  }
}

/** ProcessWord: one string, quotes removed, variables expanded. */
export function expandWord(word: string, env: ShellEnv, options: ShellOptions = {}): string {
  return processWord(word, env, options).result;
}

/** ProcessWords: expands, then splits on unquoted whitespace (EXPOSE, VOLUME, COPY shell form...). */
export function expandWords(word: string, env: ShellEnv, options: ShellOptions = {}): string[] {
  return [...processWord(word, env, options).words];
}

/** Turns `["K=V", ...]` (an image config's Env) into a map; later entries win. */
export function envListToMap(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list) {
    const i = e.indexOf("=");
    if (i < 0) m.set(e, "");
    else m.set(e.slice(0, i), e.slice(i + 1));
  }
  return m;
}

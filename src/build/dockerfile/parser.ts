/**
 * Dockerfile parser: bytes → AST (BuildKit frontend/dockerfile/parser).
 *
 * Pure and synchronous: no I/O, no variable expansion, no knowledge of what an
 * instruction means beyond how its arguments are tokenised. The typed layer
 * (instructions.ts) turns the AST into commands and checks argument counts.
 *
 * Lexical rules, in the order they apply:
 * 1. Parser directives (`# escape=\``, `# syntax=...`, `# check=...`) are read
 *    only from the top of the file, before any blank line, comment or
 *    instruction. An unknown directive ends the directive block (it and all
 *    that follows are ordinary comments). A repeated directive is an error.
 * 2. A line whose first non-blank character is `#` is a comment. Leading
 *    whitespace of an instruction line is ignored.
 * 3. A line ending with the escape character (optionally followed by spaces or
 *    tabs) continues on the next line; the escape character is removed and the
 *    lines are joined without a separator. Comment lines inside a continuation
 *    are dropped; blank lines are dropped with a warning ("Empty continuation
 *    line").
 * 4. The first word is the instruction (case-insensitive, stored lowercased);
 *    leading `--name=value` words are flags; the rest is tokenised per
 *    instruction: exec (JSON) form for RUN, CMD, ENTRYPOINT, SHELL, COPY, ADD,
 *    VOLUME, HEALTHCHECK CMD when the text is a JSON array of strings, else
 *    shell form (a JSON array that holds non-strings is an error).
 * 5. RUN, COPY and ADD in shell form may carry here-documents (`<<EOF`,
 *    `<<-EOF`, `<<"EOF"`, several per line). Their bodies are the lines that
 *    follow the instruction, each up to its terminator line; the terminator
 *    may be indented by tabs with `<<-`.
 *
 * Line numbers are 1-based and count physical lines of the input.
 *
 * @throws invalid-parameter for every syntax error; the message starts with
 *   `<file>:<line>: ` and `detail` is `{ file, line, range, reason }`.
 */
import { invalidParameter, type EngineError } from "../../core/errors.ts";
import { processWord, type EscapeToken } from "./shell.ts";

/** A position in the source: 1-based line, 0-based character (LSP style). */
export interface Position {
  readonly line: number;
  readonly character: number;
}

/** Where an instruction (or an error) sits in the Dockerfile. */
export interface SourceRange {
  readonly start: Position;
  readonly end: Position;
}

/** One here-document attached to a RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter word with quotes removed (`EOF`). */
  readonly name: string;
  /** The body as written, each line ending with `\n`; tab stripping for `<<-` is left to `chompHeredocContent`. */
  readonly content: string;
  /** False when the delimiter was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion in the body. */
  readonly expand: boolean;
  /** True for `<<-`: leading tabs are stripped from the body and the terminator. */
  readonly chomp: boolean;
  /** The file descriptor prefix (`3<<EOF`), when given. */
  readonly fileDescriptor?: number;
}

/** One instruction of the AST. */
export interface Node {
  /** The keyword, lowercased (`run`, `copy`, `from`, ...). */
  readonly instruction: string;
  /** The logical line as read: continuations joined, comments dropped. */
  readonly original: string;
  /**
   * Parsed arguments. Exec form: the JSON strings. Shell form of RUN, CMD,
   * ENTRYPOINT, SHELL, HEALTHCHECK CMD, USER, WORKDIR, MAINTAINER, STOPSIGNAL:
   * one string with the rest of the line. FROM, EXPOSE, COPY, ADD, VOLUME:
   * whitespace-separated words. ENV, LABEL: `[key, value, key, value, ...]`
   * with quotes kept (expansion removes them). ARG: `name` or `name=value`
   * words, quotes kept. HEALTHCHECK: `["CMD", ...]` or `["NONE"]`.
   */
  readonly value: readonly string[];
  /** Leading `--flag[=value]` words, as written (quotes removed). */
  readonly flags: readonly string[];
  /** True when the arguments were an exec-form JSON array. */
  readonly json: boolean;
  /** ENV and LABEL only: the legacy `ENV key value` (no `=`) form was used. */
  readonly legacyKeyValue?: boolean;
  readonly heredocs: readonly Heredoc[];
  /** ONBUILD only: the wrapped instruction. */
  readonly next?: Node;
  readonly startLine: number;
  readonly endLine: number;
  readonly range: SourceRange;
}

export interface Directives {
  readonly escape: EscapeToken;
  readonly syntax?: string;
  readonly check?: string;
}

/** A non-fatal finding (BuildKit parser warnings, lint-style). */
export interface ParseWarning {
  readonly short: string;
  readonly detail: string;
  readonly url?: string;
  readonly range: SourceRange;
}

export interface ParseResult {
  readonly directives: Directives;
  readonly children: readonly Node[];
  readonly warnings: readonly ParseWarning[];
}

export interface ParseOptions {
  /** Name used in error messages; default `Dockerfile`. */
  readonly file?: string;
}

/**
 * Builds the located error every stage of the front end throws.
 * The message is `<file>:<line>: <reason>`.
 */
export function locatedError(file: string, range: SourceRange, reason: string, cause?: unknown): EngineError {
  return invalidParameter(`${file}:${range.start.line}: ${reason}`, {
    detail: { file, line: range.start.line, range, reason },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Strips leading tabs of every line (for `<<-` bodies). */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, "");
}

const directiveRe = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$/;
const knownDirectives = new Set(["escape", "syntax", "check"]);
const heredocWordRe = /^(\d*)<<(-?)([^<]*)$/;
/** Instructions whose shell form may carry here-documents. */
const heredocInstructions = new Set(["run", "copy", "add"]);

function trimLeft(s: string): string {
  return s.replace(/^[ \t\f\v\r]+/, "");
}

function isComment(line: string): boolean {
  return trimLeft(line).startsWith("#");
}

function range(startLine: number, endLine: number, lines: readonly string[]): SourceRange {
  return { start: { line: startLine, character: 0 }, end: { line: endLine, character: (lines[endLine - 1] ?? "").length } };
}

/** Internal: an error the caller locates. */
class SyntaxErr extends Error {}

/**
 * Parses a Dockerfile.
 * @throws invalid-parameter (located) on a syntax error.
 */
export function parse(source: Uint8Array | string, options: ParseOptions = {}): ParseResult {
  const file = options.file ?? "Dockerfile";
  let text = typeof source === "string" ? source : new TextDecoder("utf-8").decode(source);
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();

  // 1. Directives.
  let escape: EscapeToken = "\\";
  let syntax: string | undefined;
  let check: string | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const m = directiveRe.exec(lines[i] ?? "");
    if (!m) break;
    const name = (m[1] ?? "").toLowerCase();
    const value = m[2] ?? "";
    if (!knownDirectives.has(name)) break;
    if (seen.has(name)) throw locatedError(file, range(i + 1, i + 1, lines), `only one ${name} parser directive can be used`);
    seen.add(name);
    if (name === "escape") {
      if (value !== "\\" && value !== "`") {
        throw locatedError(file, range(i + 1, i + 1, lines), `invalid escape token '${value}' does not match \` or \\`);
      }
      escape = value;
    } else if (name === "syntax") syntax = value;
    else check = value;
  }
  const directives: Directives = { escape, ...(syntax === undefined ? {} : { syntax }), ...(check === undefined ? {} : { check }) };

  const escRe = new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const trimContinuation = (line: string): { line: string; end: boolean } => {
    const m = escRe.exec(line);
    return m ? { line: line.slice(0, m.index), end: false } : { line, end: true };
  };

  const children: Node[] = [];
  const warnings: ParseWarning[] = [];
  let i = 0; // index of the next line to read
  while (i < lines.length) {
    const raw = lines[i] ?? "";
    i++;
    const startLine = i;
    if (isComment(raw)) continue;
    const first = trimContinuation(trimLeft(raw));
    let line = first.line;
    let end = first.end;
    if (end && line.trim() === "") continue;
    let emptyContinuation = false;
    while (!end && i < lines.length) {
      const next = lines[i] ?? "";
      i++;
      if (isComment(next)) continue;
      if (trimLeft(next) === "") {
        emptyContinuation = true;
        continue;
      }
      const c = trimContinuation(next);
      line += c.line;
      end = c.end;
    }
    if (line.trim() === "") continue; // only continuations and comments
    let node: Mutable<Node>;
    try {
      node = nodeFromLine(line, escape);
    } catch (e) {
      if (e instanceof SyntaxErr) throw locatedError(file, range(startLine, i, lines), `dockerfile parse error on line ${startLine}: ${e.message}`);
      throw e;
    }
    if (emptyContinuation) {
      warnings.push({
        short: `Empty continuation line found in: ${line}`,
        detail: "Empty continuation lines will become errors in a future release",
        url: "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
        range: range(startLine, i, lines),
      });
    }
    if (heredocInstructions.has(node.instruction) && !node.json && line.includes("<<")) {
      let specs: HeredocSpec[];
      try {
        specs = heredocsFromLine(argsOf(line), escape);
      } catch (e) {
        if (e instanceof SyntaxErr) throw locatedError(file, range(startLine, i, lines), `dockerfile parse error on line ${startLine}: ${e.message}`);
        throw e;
      }
      const heredocs: Heredoc[] = [];
      for (const spec of specs) {
        let content = "";
        let terminated = false;
        while (i < lines.length) {
          const body = lines[i] ?? "";
          i++;
          const candidate = spec.chomp ? body.replace(/^\t+/, "") : body;
          if (candidate === spec.name) {
            terminated = true;
            break;
          }
          content += body + "\n";
        }
        if (!terminated) throw locatedError(file, range(startLine, i, lines), `dockerfile parse error on line ${startLine}: unterminated heredoc`);
        heredocs.push({ ...spec, content });
      }
      node.heredocs = heredocs;
    }
    node.startLine = startLine;
    node.endLine = i;
    node.range = range(startLine, i, lines);
    if (node.next) {
      const inner = node.next as Mutable<Node>;
      inner.startLine = startLine;
      inner.endLine = i;
      inner.range = node.range;
    }
    children.push(node);
  }
  return { directives, children, warnings };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The text after the instruction keyword. */
function argsOf(line: string): string {
  const m = /^\s*\S+\s*([\s\S]*)$/.exec(line);
  return m?.[1] ?? "";
}

function nodeFromLine(line: string, escape: EscapeToken): Mutable<Node> {
  const trimmed = line.trim();
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(trimmed);
  const instruction = (m?.[1] ?? "").toLowerCase();
  const { rest, flags } = extractFlags(m?.[2] ?? "");
  const node: Mutable<Node> = {
    instruction,
    original: line,
    value: [],
    flags,
    json: false,
    heredocs: [],
    startLine: 0,
    endLine: 0,
    range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
  };
  switch (instruction) {
    case "run":
    case "cmd":
    case "entrypoint":
    case "shell":
      Object.assign(node, maybeJSON(rest, false));
      break;
    case "copy":
    case "add":
    case "volume":
      Object.assign(node, maybeJSON(rest, true));
      break;
    case "from":
    case "expose":
      node.value = splitWhitespace(rest);
      break;
    case "env":
    case "label": {
      const kv = parseNameVal(rest, instruction.toUpperCase(), escape);
      node.value = kv.value;
      if (kv.legacy) node.legacyKeyValue = true;
      break;
    }
    case "arg":
      node.value = parseWords(rest, escape);
      break;
    case "healthcheck": {
      const hm = /^(\S+)(?:\s+([\s\S]*))?$/.exec(rest.trim());
      if (!hm) break;
      const typ = hm[1] ?? "";
      if (typ.toUpperCase() === "CMD") {
        const cmd = maybeJSON(hm[2] ?? "", false);
        node.value = [typ, ...cmd.value];
        node.json = cmd.json;
      } else {
        node.value = [typ, ...splitWhitespace(hm[2] ?? "")];
      }
      break;
    }
    case "onbuild": {
      if (rest.trim() === "") break;
      node.next = nodeFromLine(rest, escape);
      break;
    }
    default:
      // maintainer, stopsignal, user, workdir and unknown instructions (checked later).
      node.value = rest.trim() === "" ? [] : [rest.trim()];
  }
  return node;
}

function splitWhitespace(s: string): string[] {
  const t = s.trim();
  return t === "" ? [] : t.split(/\s+/);
}

/** Exec form when `s` is a JSON array of strings, else shell form. */
function maybeJSON(s: string, toList: boolean): { value: string[]; json: boolean } {
  const rest = s.trim();
  if (rest === "") return { value: [], json: false };
  if (rest.startsWith("[")) {
    let parsed: unknown;
    let ok = true;
    try {
      parsed = JSON.parse(rest);
    } catch {
      ok = false;
    }
    if (ok && Array.isArray(parsed)) {
      if (!parsed.every((x) => typeof x === "string")) {
        throw new SyntaxErr("when using JSON array syntax, arrays must be comprised of strings only");
      }
      return { value: parsed as string[], json: true };
    }
  }
  return { value: toList ? splitWhitespace(rest) : [rest], json: false };
}

/**
 * Leading `--flag` words (BuildKit extractBuilderFlags): quotes are removed
 * and `\` escapes the next character; a lone `--` ends the flags.
 */
function extractFlags(line: string): { rest: string; flags: string[] } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < line.length && /\s/.test(line[pos] ?? "")) pos++;
    if (!line.startsWith("--", pos)) return { rest: line.slice(pos), flags };
    let word = "";
    let quote = "";
    let blankOk = false;
    const begin = pos;
    for (; pos < line.length; pos++) {
      let ch = line[pos] ?? "";
      if (quote === "") {
        if (/\s/.test(ch)) break;
        if (ch === "'" || ch === '"') {
          quote = ch;
          blankOk = true;
          continue;
        }
      } else if (ch === quote) {
        quote = "";
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === line.length) continue;
        pos++;
        ch = line[pos] ?? "";
      }
      word += ch;
    }
    if (word === "--" && line.slice(begin, pos) === "--") return { rest: line.slice(pos).replace(/^\s+/, ""), flags };
    if (blankOk || word.length > 0) flags.push(word);
  }
}

/**
 * Splits on unquoted whitespace, keeping quotes and escapes in the words
 * (BuildKit parseWords); used for ENV, LABEL and ARG.
 */
export function parseWords(rest: string, escape: EscapeToken): string[] {
  const words: string[] = [];
  let word = "";
  let quote = ""; // the open quote character, "" outside quotes
  let inWord = false;
  let blankOk = false; // a quoted empty string still makes a word
  const cs = Array.from(rest);
  const flush = (): void => {
    if (blankOk || word !== "") words.push(word);
    word = "";
    inWord = false;
    blankOk = false;
  };
  for (let pos = 0; pos < cs.length; pos++) {
    let ch = cs[pos] ?? "";
    if (!inWord) {
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (quote === "") {
      if (/\s/.test(ch)) {
        flush();
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
      } else if (ch === escape) {
        if (pos + 1 === cs.length) continue; // a trailing escape is dropped
        word += ch;
        pos++;
        ch = cs[pos] ?? "";
      }
      word += ch;
      continue;
    }
    if (ch === quote) quote = "";
    else if (ch === escape && quote !== "'") {
      // Inside double quotes the escape keeps the next character (even `"`) in
      // the quote; single quotes escape nothing.
      if (pos + 1 === cs.length) continue;
      word += ch;
      pos++;
      ch = cs[pos] ?? "";
    }
    word += ch;
  }
  if (inWord) flush();
  return words;
}

function parseNameVal(rest: string, key: string, escape: EscapeToken): { value: string[]; legacy: boolean } {
  const words = parseWords(rest, escape);
  if (words.length === 0) return { value: [], legacy: false };
  if (!(words[0] ?? "").includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest.trim());
    if (!m || (m[2] ?? "") === "") throw new SyntaxErr(`${key} must have two arguments`);
    return { value: [m[1] ?? "", m[2] ?? ""], legacy: true };
  }
  const value: string[] = [];
  for (const w of words) {
    const eq = w.indexOf("=");
    if (eq < 0) throw new SyntaxErr(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
    value.push(w.slice(0, eq), w.slice(eq + 1));
  }
  return { value, legacy: false };
}

type HeredocSpec = Omit<Heredoc, "content">;

/** Finds `<<WORD` markers among the shell words of the instruction's arguments. */
function heredocsFromLine(args: string, escape: EscapeToken): HeredocSpec[] {
  const out: HeredocSpec[] = [];
  for (const w of parseWords(args, escape)) {
    const m = heredocWordRe.exec(w);
    if (!m) continue;
    const delim = m[3] ?? "";
    if (delim === "") continue;
    let name: string;
    try {
      const r = processWord(delim, {}, { escape });
      if (r.words.length !== 1) continue;
      name = r.result;
    } catch {
      throw new SyntaxErr(`invalid heredoc delimiter ${JSON.stringify(delim)}`);
    }
    const quoted = /["']/.test(delim);
    out.push({
      name,
      expand: !quoted,
      chomp: m[2] === "-",
      ...(m[1] ? { fileDescriptor: Number(m[1]) } : {}),
    });
  }
  return out;
}

/** A stable, human-readable dump of an AST (golden tests). */
export function dumpAST(result: ParseResult): string {
  const out: string[] = [];
  const d = result.directives;
  out.push(`directives escape=${JSON.stringify(d.escape)}${d.syntax !== undefined ? ` syntax=${JSON.stringify(d.syntax)}` : ""}${d.check !== undefined ? ` check=${JSON.stringify(d.check)}` : ""}`);
  const dumpNode = (n: Node, indent: string): void => {
    const parts = [`${indent}(${n.instruction} ${n.startLine}-${n.endLine}`];
    if (n.flags.length > 0) parts.push(`flags=${JSON.stringify(n.flags)}`);
    if (n.json) parts.push("json");
    if (n.legacyKeyValue) parts.push("legacy");
    parts.push(JSON.stringify(n.value) + ")");
    out.push(parts.join(" "));
    for (const h of n.heredocs) {
      out.push(`${indent}  heredoc name=${JSON.stringify(h.name)} expand=${h.expand} chomp=${h.chomp}${h.fileDescriptor !== undefined ? ` fd=${h.fileDescriptor}` : ""} content=${JSON.stringify(h.content)}`);
    }
    if (n.next) dumpNode(n.next, indent + "  ");
  };
  for (const n of result.children) dumpNode(n, "");
  for (const w of result.warnings) out.push(`warning ${w.range.start.line}-${w.range.end.line}: ${w.short}`);
  return out.join("\n") + "\n";
}

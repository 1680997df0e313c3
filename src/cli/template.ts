/**
 * Go text/template, the subset docker users write in `--format`.
 *
 * Syntax: text and `{{actions}}`; `{{-`/`-}}` trim adjacent white space;
 * `{{/* comment *\/}}`; pipelines `a | b c` (the previous value becomes the last
 * argument); fields `.A.B`, `$x.A`, `(pipe).A`; variables `$` (the data),
 * `{{$x := pipe}}`, `{{$x = pipe}}`; `if`/`else if`/`else`, `with`/`else with`,
 * `range` (with `$i, $e :=`, `else`, `break`, `continue`).
 *
 * Functions: Go's builtins (and, or, not, len, index, slice, print, printf,
 * println, eq, ne, lt, le, gt, ge, html, js, urlquery, call) and docker's
 * (json, join, split, title, lower, upper, pad, truncate), plus any given in
 * `options.funcs`.
 *
 * Data model: a plain object or a `Map` is a Go map (`.Key` looks up an own key;
 * a missing key is nil). A class instance is a Go struct: `.Name` reads an own
 * property, a getter or a method (called with the command's arguments, like a
 * Go method); a missing field is an error. Arrays are slices, `null` and
 * `undefined` are nil. Printing follows fmt's %v: `[a b]`, `map[k:v]` (keys
 * sorted), `<no value>` for a nil action result, `<nil>` for nil inside values.
 *
 * Errors: parse errors throw invalid-parameter
 * "template parsing error: template: :LINE: ..." from `compileTemplate`;
 * execution errors throw invalid-parameter
 * "template: :LINE:COL: executing \"\" at <NODE>: ..." from the render function.
 */
import { invalidParameter } from "../core/index.ts";

export type TemplateFunc = (...args: unknown[]) => unknown;

export interface TemplateOptions {
  /** Extra functions, or replacements for the built-in ones (docker's header functions). */
  readonly funcs?: Readonly<Record<string, TemplateFunc>>;
}

export type RenderFunc = (data: unknown) => string;

// ---------------------------------------------------------------- lexer

type Tok =
  | { t: "field"; names: string[]; pos: number } // .A.B (names empty for ".")
  | { t: "var"; name: string; names: string[]; pos: number } // $x.A
  | { t: "ident"; name: string; pos: number }
  | { t: "string"; value: string; pos: number }
  | { t: "number"; value: number; pos: number }
  | { t: "bool"; value: boolean; pos: number }
  | { t: "nil"; pos: number }
  | { t: "|" | "(" | ")" | ":=" | "=" | ","; pos: number; names?: string[] };

interface ActionSeg {
  kind: "action";
  toks: Tok[];
  pos: number;
  line: number;
}
type Seg = { kind: "text"; text: string } | ActionSeg;

class ParseError extends Error {}

const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
const identStart = /[A-Za-z_]/;
const identChar = /[A-Za-z0-9_]/;

function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === "\n") n++;
  return n;
}

function lex(src: string): Seg[] {
  const segs: Seg[] = [];
  let i = 0;
  let trimNext = false;
  while (i <= src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    trimNext = false;
    if (open < 0) {
      if (text !== "") segs.push({ kind: "text", text });
      break;
    }
    let p = open + 2;
    if (src[p] === "-" && isSpace(src[p + 1])) {
      text = text.replace(/[ \t\r\n]+$/, "");
      p += 2;
    }
    if (text !== "") segs.push({ kind: "text", text });
    const line = lineOf(src, open);
    const toks: Tok[] = [];
    // Comment: {{/* ... */}} (optionally trimmed).
    let q = p;
    while (isSpace(src[q])) q++;
    if (src.startsWith("/*", q)) {
      const end = src.indexOf("*/", q + 2);
      if (end < 0) throw new ParseError(`template: :${line}: unclosed comment`);
      let r = end + 2;
      if (src.startsWith(" -}}", r)) {
        trimNext = true;
        r += 4;
      } else if (src.startsWith("}}", r)) r += 2;
      else throw new ParseError(`template: :${line}: comment ends before closing delimiter`);
      i = r;
      continue;
    }
    for (;;) {
      while (isSpace(src[p])) p++;
      if (p >= src.length) throw new ParseError(`template: :${line}: unclosed action`);
      if (src.startsWith("}}", p)) {
        p += 2;
        break;
      }
      if (src.startsWith("-}}", p) && isSpace(src[p - 1])) {
        trimNext = true;
        p += 3;
        break;
      }
      const c = src[p] ?? "";
      const start = p;
      if (c === '"') {
        let j = p + 1;
        while (j < src.length && src[j] !== '"') {
          if (src[j] === "\\") j++;
          if (src[j] === "\n") throw new ParseError(`template: :${line}: unterminated quoted string`);
          j++;
        }
        if (j >= src.length) throw new ParseError(`template: :${line}: unterminated quoted string`);
        const raw = src.slice(p, j + 1);
        let value: string;
        try {
          value = JSON.parse(raw.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\'/g, "'").replace(/\\a/g, "\\u0007").replace(/\\v/g, "\\u000b")) as string;
        } catch {
          throw new ParseError(`template: :${line}: bad quoted string ${raw}`);
        }
        toks.push({ t: "string", value, pos: start });
        p = j + 1;
      } else if (c === "`") {
        const j = src.indexOf("`", p + 1);
        if (j < 0) throw new ParseError(`template: :${line}: unterminated raw quoted string`);
        toks.push({ t: "string", value: src.slice(p + 1, j), pos: start });
        p = j + 1;
      } else if (c === "." && !/[0-9]/.test(src[p + 1] ?? "")) {
        const names: string[] = [];
        p++;
        if (identStart.test(src[p] ?? "")) {
          p--;
          while (src[p] === "." && identStart.test(src[p + 1] ?? "")) {
            let j = p + 1;
            while (identChar.test(src[j] ?? "")) j++;
            names.push(src.slice(p + 1, j));
            p = j;
          }
        }
        toks.push({ t: "field", names, pos: start });
      } else if (c === "$") {
        let j = p + 1;
        while (identChar.test(src[j] ?? "")) j++;
        const name = src.slice(p, j);
        p = j;
        toks.push({ t: "var", name, names: readChain(), pos: start });
      } else if (/[0-9+\-.]/.test(c)) {
        const m = /^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:[0-9][0-9_]*)?\.?[0-9_]*(?:[eE][+-]?[0-9]+)?)/.exec(src.slice(p));
        const s = m?.[0] ?? "";
        const n = Number(s.replaceAll("_", "").replace(/^\+/, ""));
        if (s === "" || s === "+" || s === "-" || Number.isNaN(n)) throw new ParseError(`template: :${line}: bad number syntax: "${src.slice(p, p + Math.max(1, s.length))}"`);
        toks.push({ t: "number", value: n, pos: start });
        p += s.length;
      } else if (identStart.test(c)) {
        let j = p;
        while (identChar.test(src[j] ?? "")) j++;
        const name = src.slice(p, j);
        p = j;
        if (name === "true" || name === "false") toks.push({ t: "bool", value: name === "true", pos: start });
        else if (name === "nil") toks.push({ t: "nil", pos: start });
        else toks.push({ t: "ident", name, pos: start });
      } else if (c === "'") {
        const m = /^'(\\.|[^'\\])'/u.exec(src.slice(p));
        if (m === null) throw new ParseError(`template: :${line}: unterminated character constant`);
        const ch = m[1] ?? "";
        toks.push({ t: "number", value: (ch.startsWith("\\") ? (JSON.parse(`"${ch}"`) as string) : ch).codePointAt(0) ?? 0, pos: start });
        p += m[0].length;
      } else if (src.startsWith(":=", p)) {
        toks.push({ t: ":=", pos: start });
        p += 2;
      } else if (c === "|" || c === "(" || c === "=" || c === ",") {
        toks.push({ t: c, pos: start });
        p++;
      } else if (c === ")") {
        p++;
        toks.push({ t: ")", pos: start, names: readChain() });
      } else {
        throw new ParseError(`template: :${line}: unexpected ${JSON.stringify(c)} in command`);
      }
    }
    segs.push({ kind: "action", toks, pos: open, line });
    i = p;

    function readChain(): string[] {
      const names: string[] = [];
      while (src[p] === "." && identStart.test(src[p + 1] ?? "")) {
        let j = p + 1;
        while (identChar.test(src[j] ?? "")) j++;
        names.push(src.slice(p + 1, j));
        p = j;
      }
      return names;
    }
  }
  return segs;
}

// ---------------------------------------------------------------- parser

type Arg =
  | { a: "field"; names: string[]; pos: number }
  | { a: "var"; name: string; names: string[]; pos: number }
  | { a: "func"; name: string; pos: number }
  | { a: "const"; value: unknown; pos: number }
  | { a: "pipe"; pipe: Pipe; names: string[]; pos: number };

interface Cmd {
  args: Arg[];
  pos: number;
}
interface Pipe {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
  pos: number;
}

type Node =
  | { n: "text"; text: string }
  | { n: "action"; pipe: Pipe; line: number; src: string }
  | { n: "if" | "with"; pipe: Pipe; line: number; src: string; list: Node[]; elseList: Node[] | undefined }
  | { n: "range"; pipe: Pipe; line: number; src: string; list: Node[]; elseList: Node[] | undefined }
  | { n: "break" | "continue" };

class Parser {
  readonly segs: Seg[];
  readonly src: string;
  readonly funcs: ReadonlySet<string>;
  i = 0;
  vars: string[][] = [["$"]];
  rangeDepth = 0;

  constructor(src: string, funcs: ReadonlySet<string>) {
    this.src = src;
    this.segs = lex(src);
    this.funcs = funcs;
  }

  parse(): Node[] {
    const { list, end } = this.list();
    if (end !== undefined) throw new ParseError(`template: :${end.line}: unexpected {{${end.word}}}`);
    return list;
  }

  /** Parses nodes until `end`/`else`/EOF; returns the terminating keyword action. */
  list(): { list: Node[]; end: { word: "end" | "else"; seg: ActionSeg; line: number } | undefined } {
    const list: Node[] = [];
    while (this.i < this.segs.length) {
      const seg = this.segs[this.i++] as Seg;
      if (seg.kind === "text") {
        list.push({ n: "text", text: seg.text });
        continue;
      }
      const first = seg.toks[0];
      const word = first?.t === "ident" ? first.name : undefined;
      switch (word) {
        case "end":
          if (seg.toks.length > 1) throw new ParseError(`template: :${seg.line}: unexpected ${tokText(seg.toks[1])} in end`);
          return { list, end: { word: "end", seg, line: seg.line } };
        case "else":
          return { list, end: { word: "else", seg, line: seg.line } };
        case "if":
        case "with":
        case "range":
          list.push(this.control(word, seg, 1));
          continue;
        case "break":
        case "continue":
          if (this.rangeDepth === 0) throw new ParseError(`template: :${seg.line}: {{${word}}} outside {{range}}`);
          if (seg.toks.length > 1) throw new ParseError(`template: :${seg.line}: unexpected ${tokText(seg.toks[1])} in ${word}`);
          list.push({ n: word });
          continue;
        case "define":
        case "template":
        case "block":
          throw new ParseError(`template: :${seg.line}: {{${word}}} is not supported`);
        default:
          if (seg.toks.length === 0) throw new ParseError(`template: :${seg.line}: missing value for command`);
          list.push({ n: "action", pipe: this.pipeline(seg, 0, seg.toks.length, true), line: seg.line, src: this.srcOf(seg) });
      }
    }
    return { list, end: undefined };
  }

  srcOf(seg: ActionSeg): string {
    const t = seg.toks[0];
    const end = this.src.indexOf("}}", t?.pos ?? seg.pos);
    return this.src.slice(t?.pos ?? seg.pos, end).replace(/\s*-?$/, "").trim();
  }

  control(word: "if" | "with" | "range", seg: ActionSeg, from: number): Node {
    this.vars.push([]);
    if (word === "range") this.rangeDepth++;
    const pipe = this.pipeline(seg, from, seg.toks.length, true, word === "range");
    const body = this.list();
    if (word === "range") this.rangeDepth--;
    this.vars.pop();
    if (body.end === undefined) throw new ParseError(`template: :${lineOf(this.src, this.src.length)}: unexpected EOF`);
    let elseList: Node[] | undefined;
    if (body.end.word === "else") {
      const e = body.end.seg;
      const next = e.toks[1];
      if (next?.t === "ident" && (next.name === "if" || next.name === "with") && word !== "range") {
        // {{else if ...}} / {{else with ...}}: nested control sharing our {{end}}.
        if (next.name !== word) throw new ParseError(`template: :${e.line}: unexpected {{else ${next.name}}} in {{${word}}}`);
        elseList = [this.control(next.name, e, 2)];
      } else {
        if (e.toks.length > 1) throw new ParseError(`template: :${e.line}: unexpected ${tokText(next)} in else`);
        this.vars.push([]);
        const rest = this.list();
        this.vars.pop();
        if (rest.end?.word !== "end") throw new ParseError(`template: :${rest.end?.line ?? lineOf(this.src, this.src.length)}: ${rest.end === undefined ? "unexpected EOF" : "expected end; found {{else}}"}`);
        elseList = rest.list;
      }
    }
    return { n: word, pipe, line: seg.line, src: this.srcOf(seg), list: body.list, elseList };
  }

  pipeline(seg: ActionSeg, from: number, to: number, allowDecl: boolean, isRange = false): Pipe {
    const toks = seg.toks.slice(from, to);
    const line = seg.line;
    const decl: string[] = [];
    let assign = false;
    let k = 0;
    if (allowDecl && toks[0]?.t === "var" && toks[0].names.length === 0) {
      const v1 = toks[0];
      if (toks[1]?.t === ":=" || toks[1]?.t === "=") {
        decl.push(v1.name);
        assign = toks[1].t === "=";
        k = 2;
      } else if (isRange && toks[1]?.t === "," && toks[2]?.t === "var" && (toks[3]?.t === ":=" || toks[3]?.t === "=")) {
        decl.push(v1.name, toks[2].name);
        assign = toks[3].t === "=";
        k = 4;
      }
    }
    for (const v of decl) {
      if (assign) this.checkVar(v, line);
      else this.vars[this.vars.length - 1]?.push(v);
    }
    const cmds: Cmd[] = [];
    let args: Arg[] = [];
    let cmdPos = toks[k]?.pos ?? seg.pos;
    const pos = toks[0]?.pos ?? seg.pos;
    while (k < toks.length) {
      const t = toks[k++] as Tok;
      switch (t.t) {
        case "|":
          if (args.length === 0) throw new ParseError(`template: :${line}: missing value for command`);
          cmds.push({ args, pos: cmdPos });
          args = [];
          cmdPos = toks[k]?.pos ?? t.pos;
          break;
        case "(": {
          let depth = 1;
          let j = k;
          for (; j < toks.length; j++) {
            const u = toks[j] as Tok;
            if (u.t === "(") depth++;
            else if (u.t === ")" && --depth === 0) break;
          }
          if (j >= toks.length) throw new ParseError(`template: :${line}: unclosed left paren`);
          const inner = this.pipeline(seg, from + k, from + j, false);
          const close = toks[j] as Tok;
          args.push({ a: "pipe", pipe: inner, names: close.t === ")" ? (close.names ?? []) : [], pos: t.pos });
          k = j + 1;
          break;
        }
        case ")":
          throw new ParseError(`template: :${line}: unexpected right paren`);
        case ":=":
        case "=":
        case ",":
          throw new ParseError(`template: :${line}: unexpected "${t.t}" in operand`);
        case "field":
          args.push({ a: "field", names: t.names, pos: t.pos });
          break;
        case "var":
          this.checkVar(t.name, line);
          args.push({ a: "var", name: t.name, names: t.names, pos: t.pos });
          break;
        case "ident":
          if (!this.funcs.has(t.name)) {
            if (["if", "else", "end", "range", "with", "break", "continue"].includes(t.name)) throw new ParseError(`template: :${line}: unexpected <${t.name}> in command`);
            throw new ParseError(`template: :${line}: function "${t.name}" not defined`);
          }
          args.push({ a: "func", name: t.name, pos: t.pos });
          break;
        case "string":
        case "number":
        case "bool":
          args.push({ a: "const", value: t.value, pos: t.pos });
          break;
        case "nil":
          args.push({ a: "const", value: null, pos: t.pos });
          break;
      }
    }
    if (args.length > 0) cmds.push({ args, pos: cmdPos });
    else if (cmds.length > 0 || decl.length > 0 || k === 0) throw new ParseError(`template: :${line}: missing value for ${decl.length > 0 ? "declaration" : "command"}`);
    for (const c of cmds) {
      const first = c.args[0];
      if (first?.a === "const" && first.value === null && c.args.length === 1 && cmds.length === 1) throw new ParseError(`template: :${line}: nil is not a command`);
    }
    return { decl, assign, cmds, pos };
  }

  checkVar(name: string, line: number): void {
    if (!this.vars.some((scope) => scope.includes(name))) throw new ParseError(`template: :${line}: undefined variable "${name}"`);
  }
}

function tokText(t: Tok | undefined): string {
  if (t === undefined) return "EOF";
  switch (t.t) {
    case "ident":
      return `<${t.name}>`;
    case "field":
      return `<.${t.names.join(".")}>`;
    case "var":
      return `<${t.name}>`;
    case "string":
      return JSON.stringify(t.value);
    case "number":
    case "bool":
      return `<${String(t.value)}>`;
    case "nil":
      return "<nil>";
    default:
      return `"${t.t}"`;
  }
}

// ---------------------------------------------------------------- values

class ExecError extends Error {}
class BreakSignal {}
class ContinueSignal {}

const isMapLike = (v: unknown): v is Record<string, unknown> | Map<unknown, unknown> => {
  if (v instanceof Map) return true;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/** Go's type name for a value, used in error messages. */
export function goTypeName(v: unknown): string {
  if (v === undefined || v === null) return "<nil>";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float64";
  if (typeof v === "bigint") return "int64";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "function") return "func";
  if (Array.isArray(v)) return "[]interface {}";
  if (v instanceof Date) return "time.Time";
  if (isMapLike(v)) return "map[string]interface {}";
  const name = (v as { constructor?: { name?: string } }).constructor?.name;
  return name === undefined || name === "" ? "struct" : name;
}

function mapEntries(v: Record<string, unknown> | Map<unknown, unknown>): [string, unknown][] {
  const entries: [string, unknown][] = v instanceof Map ? [...v].map(([k, x]) => [String(k), x]) : Object.entries(v);
  return entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function pad2(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** Go's time.Time String() in UTC: "2024-01-02 03:04:05.123 +0000 UTC". */
function goTime(d: Date): string {
  if (Number.isNaN(d.getTime())) return "<invalid time>";
  const ms = d.getUTCMilliseconds();
  const frac = ms === 0 ? "" : `.${pad2(ms, 3).replace(/0+$/, "")}`;
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac} +0000 UTC`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** fmt's %v. `top` is true for the value of an action, where nil prints "<no value>". */
export function formatValue(v: unknown, top = false): string {
  if (v === undefined || v === null) return top ? "<no value>" : "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return formatNumber(v);
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "function") return "0x0";
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x)).join(" ")}]`;
  if (v instanceof Date) return goTime(v);
  if (v instanceof Uint8Array) return `[${[...v].join(" ")}]`;
  if (isMapLike(v)) return `map[${mapEntries(v).map(([k, x]) => `${k}:${formatValue(x)}`).join(" ")}]`;
  if (typeof (v as { toString?: unknown }).toString === "function" && (v as object).toString !== Object.prototype.toString) {
    return String(v);
  }
  return `{${Object.values(v as object).map((x) => formatValue(x)).join(" ")}}`;
}

/** Go template truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "" || v === 0n) return false;
  if (typeof v === "number" && Number.isNaN(v)) return true;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  if (isMapLike(v)) return Object.keys(v).length > 0;
  return true;
}

function wantString(v: unknown, what = "value"): string {
  if (typeof v !== "string") throw new ExecError(`wrong type for ${what}; expected string; got ${goTypeName(v)}`);
  return v;
}

function wantInt(v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return Number(v);
  throw new ExecError(`wrong type for value; expected int; got ${goTypeName(v)}`);
}

// ---------------------------------------------------------------- printf

function quoteGo(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-7][0-9a-f])/g, "\\x$1").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** A subset of Go's fmt.Sprintf: flags `-+ 0#`, width, precision, verbs v s d q x X o b c t f F e E g G %. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = "";
  let argi = 0;
  const re = /%([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+)?)?([a-zA-Z%])?/g;
  let last = 0;
  for (let m = re.exec(format); m !== null; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const flags = m[1] ?? "";
    const verb = m[4];
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (verb === undefined) {
      out += "%!(NOVERB)";
      continue;
    }
    const takeInt = (spec: string | undefined): number | undefined => {
      if (spec === undefined) return undefined;
      if (spec === "*") return Number(args[argi++] ?? 0);
      return Number(spec);
    };
    const width = takeInt(m[2]);
    const precision = m[3] === undefined ? (format[m.index + (m[0].indexOf(".") >= 0 ? m[0].indexOf(".") : -1)] === "." ? 0 : undefined) : takeInt(m[3]);
    const hasDot = m[0].includes(".");
    const prec = hasDot ? (precision ?? 0) : undefined;
    if (argi >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argi++];
    let s: string;
    const num = typeof a === "number" ? a : typeof a === "bigint" ? Number(a) : undefined;
    const bad = () => `%!${verb}(${goTypeName(a)}=${formatValue(a)})`;
    switch (verb) {
      case "v":
        s = flags.includes("#") && typeof a === "string" ? quoteGo(a) : formatValue(a);
        break;
      case "s":
        s = typeof a === "string" ? a : formatValue(a);
        if (prec !== undefined) s = Array.from(s).slice(0, prec).join("");
        break;
      case "q":
        s = typeof a === "string" ? quoteGo(a) : num !== undefined && Number.isInteger(num) ? `'${String.fromCodePoint(num)}'` : bad();
        break;
      case "t":
        s = typeof a === "boolean" ? String(a) : bad();
        break;
      case "d":
      case "b":
      case "o":
      case "c":
        if (num === undefined || !Number.isInteger(num)) {
          s = bad();
          break;
        }
        if (verb === "c") s = String.fromCodePoint(num);
        else {
          s = Math.abs(num).toString(verb === "d" ? 10 : verb === "b" ? 2 : 8);
          if (prec !== undefined) s = s.padStart(prec, "0");
          s = (num < 0 ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "") + s;
        }
        break;
      case "x":
      case "X": {
        let h: string;
        if (typeof a === "string") h = Buffer.from(a).toString("hex");
        else if (num !== undefined && Number.isInteger(num)) h = (num < 0 ? "-" : "") + Math.abs(num).toString(16);
        else {
          s = bad();
          break;
        }
        s = verb === "X" ? h.toUpperCase() : h;
        break;
      }
      case "f":
      case "F":
      case "e":
      case "E":
      case "g":
      case "G": {
        if (num === undefined) {
          s = bad();
          break;
        }
        const lower = verb.toLowerCase();
        if (lower === "f") s = num.toFixed(prec ?? 6);
        else if (lower === "e") s = num.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
        else s = prec === undefined ? formatNumber(num) : String(Number(num.toPrecision(prec)));
        if (verb !== lower) s = s.toUpperCase();
        if (num >= 0 && flags.includes("+")) s = `+${s}`;
        break;
      }
      default:
        s = bad();
    }
    if (width !== undefined && s.length < width) {
      if (flags.includes("-")) s = s.padEnd(width, " ");
      else if (flags.includes("0") && /^[-+]?[0-9.]/.test(s) && "dbofFeEgGxX".includes(verb)) {
        const sign = /^[-+]/.test(s) ? (s[0] as string) : "";
        s = sign + s.slice(sign.length).padStart(width - sign.length, "0");
      } else s = s.padStart(width, " ");
    }
    out += s;
  }
  out += format.slice(last);
  if (argi < args.length) {
    out += `%!(EXTRA ${args.slice(argi).map((a) => `${goTypeName(a)}=${formatValue(a)}`).join(", ")})`;
  }
  return out;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: readonly unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += formatValue(a);
  });
  return out;
}

// ---------------------------------------------------------------- functions

function compare(op: string, a: unknown, b: unknown): boolean {
  const basic = (x: unknown) => x === null || x === undefined || ["string", "number", "boolean", "bigint"].includes(typeof x);
  if (!basic(a) || !basic(b)) {
    if (op === "eq" || op === "ne") throw new ExecError(`error calling ${op}: non-comparable type ${formatValue(a)}: ${goTypeName(a)}`);
    throw new ExecError(`error calling ${op}: invalid type for comparison`);
  }
  if (op === "eq") return a === b || (a == null && b == null);
  if (typeof a !== typeof b || a == null) throw new ExecError(`error calling ${op}: incompatible types for comparison`);
  if (typeof a === "boolean") throw new ExecError(`error calling ${op}: invalid type for comparison`);
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case "lt":
      return x < y;
    case "le":
      return x <= y;
    case "gt":
      return x > y;
    default:
      return x >= y;
  }
}

function indexInto(item: unknown, keys: readonly unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === undefined || v === null) throw new ExecError("error calling index: index of untyped nil");
    if (Array.isArray(v) || typeof v === "string") {
      const i = wantInt(k);
      if (i < 0 || i >= v.length) throw new ExecError(`error calling index: index out of range: ${i}`);
      v = typeof v === "string" ? Buffer.from(v)[i] : v[i];
    } else if (v instanceof Map) {
      v = v.get(k);
    } else if (isMapLike(v)) {
      v = Object.hasOwn(v, String(k)) ? (v as Record<string, unknown>)[String(k)] : undefined;
    } else throw new ExecError(`error calling index: can't index item of type ${goTypeName(v)}`);
  }
  return v;
}

function lengthOf(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
  if (v instanceof Map) return v.size;
  if (isMapLike(v)) return Object.keys(v).length;
  if (v === undefined || v === null) throw new ExecError("error calling len: len of nil pointer");
  throw new ExecError(`error calling len: len of type ${goTypeName(v)}`);
}

function goJSON(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v, function (this: Record<string, unknown>, k: string, x: unknown) {
    const orig = this[k];
    // Go's time.Time marshals as RFC 3339 with only the significant fraction digits.
    if (orig instanceof Date && !Number.isNaN(orig.getTime())) return orig.toISOString().replace(/\.?0+Z$/, "Z");
    if (x instanceof Map) return Object.fromEntries(mapEntries(x));
    if (typeof x === "bigint") return Number(x);
    return x;
  });
  return (s ?? "null").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function titleCase(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, c: string) => pre + c.toUpperCase());
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>'"\0]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;", "\0": "\uFFFD" })[c] ?? c);
}

function jsEscape(s: string): string {
  return s.replace(/[\\'"<>&=\n\r\t]|[\u0000-\u001f]/g, (c) => {
    switch (c) {
      case "\\":
        return "\\\\";
      case "'":
        return "\\'";
      case '"':
        return '\\"';
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default:
        return `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    }
  });
}

const builtins: Record<string, TemplateFunc> = {
  not: (a) => !truthy(a),
  len: (a) => lengthOf(a),
  index: (item, ...keys) => indexInto(item, keys),
  slice: (item, ...ix) => {
    if (typeof item !== "string" && !Array.isArray(item)) throw new ExecError(`error calling slice: can't slice item of type ${goTypeName(item)}`);
    const [i = 0, j = item.length] = ix.map(wantInt);
    if (i < 0 || j < i || j > item.length) throw new ExecError(`error calling slice: index out of range: ${j > item.length ? j : i}`);
    return item.slice(i, j);
  },
  print: (...a) => sprint(a),
  printf: (f, ...a) => sprintf(wantString(f), a),
  println: (...a) => `${a.map((x) => formatValue(x)).join(" ")}\n`,
  eq: (a, ...b) => {
    if (b.length === 0) throw new ExecError("missing argument for comparison");
    return b.some((x) => compare("eq", a, x));
  },
  ne: (a, b) => !compare("ne", a, b) && !(a === b),
  lt: (a, b) => compare("lt", a, b),
  le: (a, b) => compare("le", a, b),
  gt: (a, b) => compare("gt", a, b),
  ge: (a, b) => compare("ge", a, b),
  html: (...a) => htmlEscape(sprint(a)),
  js: (...a) => jsEscape(sprint(a)),
  urlquery: (...a) => encodeURIComponent(sprint(a)).replace(/%20/g, "+").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
  call: (fn, ...a) => {
    if (typeof fn !== "function") throw new ExecError(`error calling call: non-function of type ${goTypeName(fn)}`);
    return (fn as TemplateFunc)(...a);
  },
  // docker/cli templates.basicFunctions
  json: (v) => goJSON(v),
  join: (list, sep) => {
    if (!Array.isArray(list)) throw new ExecError(`wrong type for value; expected []string; got ${goTypeName(list)}`);
    return list.map((x) => formatValue(x)).join(wantString(sep));
  },
  split: (s, sep) => {
    const str = wantString(s);
    const sp = wantString(sep);
    return sp === "" ? Array.from(str) : str.split(sp);
  },
  title: (s) => titleCase(wantString(s)),
  lower: (s) => wantString(s).toLowerCase(),
  upper: (s) => wantString(s).toUpperCase(),
  pad: (s, prefix, suffix) => {
    const str = wantString(s);
    return str === "" ? str : " ".repeat(Math.max(0, wantInt(prefix))) + str + " ".repeat(Math.max(0, wantInt(suffix)));
  },
  truncate: (s, n) => {
    const cps = Array.from(wantString(s));
    const len = wantInt(n);
    return cps.length < len ? cps.join("") : cps.slice(0, Math.max(0, len)).join("");
  },
};

/**
 * docker/cli templates.HeaderFunctions: used when rendering a table's header
 * row, where every value is a header string and the formatting functions must
 * pass it through unchanged.
 */
export const headerFuncs: Readonly<Record<string, TemplateFunc>> = {
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  pad: (v) => v,
  truncate: (v) => v,
};

// ---------------------------------------------------------------- executor

interface Ctx {
  dot: unknown;
  vars: { name: string; value: unknown }[];
}

class Exec {
  readonly src: string;
  readonly funcs: Readonly<Record<string, TemplateFunc>>;
  out = "";
  line = 1;
  nodeSrc = "";
  nodePos = 0;

  constructor(src: string, funcs: Readonly<Record<string, TemplateFunc>>) {
    this.src = src;
    this.funcs = funcs;
  }

  fail(err: unknown, at: { pos: number; text: string }): never {
    if (err instanceof EngineFailure) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    const before = this.src.slice(0, at.pos);
    const nl = before.lastIndexOf("\n");
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const col = nl < 0 ? at.pos : at.pos - nl - 1;
    throw new EngineFailure(`template: :${line}:${col}: executing "" at <${at.text}>: ${msg}`, { cause: err });
  }

  walk(nodes: readonly Node[], ctx: Ctx): void {
    for (const node of nodes) {
      switch (node.n) {
        case "text":
          this.out += node.text;
          break;
        case "action": {
          const v = this.pipe(node.pipe, ctx);
          if (node.pipe.decl.length === 0) this.out += formatValue(v, true);
          break;
        }
        case "if":
        case "with": {
          const mark = ctx.vars.length;
          const v = this.pipe(node.pipe, ctx);
          if (truthy(v)) this.walk(node.list, node.n === "with" ? { dot: v, vars: ctx.vars } : ctx);
          else if (node.elseList !== undefined) this.walk(node.elseList, ctx);
          ctx.vars.length = mark;
          break;
        }
        case "range":
          this.range(node, ctx);
          break;
        case "break":
          throw new BreakSignal();
        case "continue":
          throw new ContinueSignal();
      }
    }
  }

  range(node: Extract<Node, { n: "range" }>, ctx: Ctx): void {
    const mark = ctx.vars.length;
    const decl = node.pipe.decl;
    const v = this.pipe({ ...node.pipe, decl: [] }, ctx);
    let items: [unknown, unknown][];
    if (Array.isArray(v) || v instanceof Uint8Array) items = [...v].map((x, i) => [i, x]);
    else if (v instanceof Map || isMapLike(v)) items = mapEntries(v);
    else if (typeof v === "number" && Number.isInteger(v)) items = Array.from({ length: Math.max(0, v) }, (_x, i) => [i, i]);
    else if (v === undefined || v === null) items = [];
    else this.fail(new Error(`range can't iterate over ${formatValue(v)}`), { pos: node.pipe.pos, text: node.src.replace(/^range\s+/, "") });
    if (items.length === 0) {
      if (node.elseList !== undefined) this.walk(node.elseList, ctx);
      return;
    }
    for (const [k, x] of items) {
      const scope = { dot: x, vars: ctx.vars };
      if (decl.length === 1) this.setVar(ctx, decl[0] as string, x, node.pipe.assign);
      else if (decl.length === 2) {
        this.setVar(ctx, decl[0] as string, k, node.pipe.assign);
        this.setVar(ctx, decl[1] as string, x, node.pipe.assign);
      }
      try {
        this.walk(node.list, scope);
      } catch (e) {
        if (e instanceof BreakSignal) break;
        if (!(e instanceof ContinueSignal)) throw e;
      } finally {
        ctx.vars.length = mark; // drops the loop variables and anything the body declared
      }
    }
    ctx.vars.length = mark;
  }

  setVar(ctx: Ctx, name: string, value: unknown, assign: boolean): void {
    if (assign) {
      for (let i = ctx.vars.length - 1; i >= 0; i--) {
        const v = ctx.vars[i];
        if (v?.name === name) {
          v.value = value;
          return;
        }
      }
    }
    ctx.vars.push({ name, value });
  }

  getVar(ctx: Ctx, name: string): unknown {
    for (let i = ctx.vars.length - 1; i >= 0; i--) {
      const v = ctx.vars[i];
      if (v?.name === name) return v.value;
    }
    return undefined;
  }

  pipe(p: Pipe, ctx: Ctx): unknown {
    let value: unknown = undefined;
    let piped = false;
    for (const cmd of p.cmds) {
      value = this.command(cmd, ctx, piped, value);
      piped = true;
    }
    for (const name of p.decl) this.setVar(ctx, name, value, p.assign);
    return value;
  }

  cmdText(cmd: Cmd): string {
    const first = cmd.args[0];
    if (first === undefined) return "";
    switch (first.a) {
      case "func":
        return first.name;
      case "field":
        return `.${first.names.join(".")}`;
      case "var":
        return [first.name, ...first.names].join(".");
      default:
        return this.src.slice(first.pos, first.pos + 20).split(/[\s|}]/)[0] ?? "";
    }
  }

  command(cmd: Cmd, ctx: Ctx, piped: boolean, final: unknown): unknown {
    const [first, ...rest] = cmd.args;
    const at = { pos: first?.pos ?? cmd.pos, text: this.cmdText(cmd) };
    if (first === undefined) return undefined;
    const extra = () => {
      const vals = rest.map((a) => this.arg(a, ctx));
      if (piped) vals.push(final);
      return vals;
    };
    try {
      if (first.a === "func") {
        if (first.name === "and" || first.name === "or") {
          const thunks: (() => unknown)[] = rest.map((a) => () => this.arg(a, ctx));
          if (piped) thunks.push(() => final);
          if (thunks.length === 0) throw new ExecError(`wrong number of args for ${first.name}: want at least 1 got 0`);
          let v: unknown;
          for (const t of thunks) {
            v = t();
            if (first.name === "and" ? !truthy(v) : truthy(v)) return v;
          }
          return v;
        }
        const fn = this.funcs[first.name];
        if (fn === undefined) throw new ExecError(`function "${first.name}" not defined`);
        return fn(...extra());
      }
      if (first.a === "field" || first.a === "var" || (first.a === "pipe" && first.names.length > 0)) {
        const base = first.a === "field" ? ctx.dot : first.a === "var" ? this.getVar(ctx, first.name) : this.pipe(first.pipe, ctx);
        if (first.names.length === 0) {
          if (rest.length > 0 || piped) throw new ExecError(`can't give argument to non-function ${at.text}`);
          return base;
        }
        return this.chain(base, first.names, () => extra(), rest.length > 0 || piped);
      }
      if (rest.length > 0 || piped) throw new ExecError(`can't give argument to non-function ${at.text}`);
      return this.arg(first, ctx);
    } catch (e) {
      if (e instanceof BreakSignal || e instanceof ContinueSignal) throw e;
      return this.fail(e, at);
    }
  }

  arg(a: Arg, ctx: Ctx): unknown {
    switch (a.a) {
      case "const":
        return a.value;
      case "field":
        return a.names.length === 0 ? ctx.dot : this.chain(ctx.dot, a.names, () => [], false);
      case "var":
        return this.chain(this.getVar(ctx, a.name), a.names, () => [], false);
      case "pipe":
        return this.chain(this.pipe(a.pipe, ctx), a.names, () => [], false);
      case "func": {
        if (a.name === "and" || a.name === "or") throw new ExecError(`wrong number of args for ${a.name}: want at least 1 got 0`);
        const fn = this.funcs[a.name];
        if (fn === undefined) throw new ExecError(`function "${a.name}" not defined`);
        return fn();
      }
    }
  }

  /** Evaluates `.a.b.c` on `base`; the last element may be a method taking `args`. */
  chain(base: unknown, names: readonly string[], args: () => unknown[], hasArgs: boolean): unknown {
    let v = base;
    names.forEach((name, i) => {
      const last = i === names.length - 1;
      v = this.field(v, name, last ? args : () => [], last && hasArgs);
    });
    return v;
  }

  field(recv: unknown, name: string, args: () => unknown[], hasArgs: boolean): unknown {
    if (recv === undefined || recv === null) throw new ExecError(`nil pointer evaluating interface {}.${name}`);
    if (recv instanceof Map) {
      if (hasArgs) throw new ExecError(`${name} is not a method but has arguments`);
      return recv.get(name);
    }
    if (isMapLike(recv)) {
      if (hasArgs) throw new ExecError(`${name} is not a method but has arguments`);
      return Object.hasOwn(recv, name) ? (recv as Record<string, unknown>)[name] : undefined;
    }
    if (typeof recv === "object" || typeof recv === "function") {
      if (name in (recv as object)) {
        const value = (recv as Record<string, unknown>)[name];
        if (typeof value === "function") return (value as TemplateFunc).apply(recv, args());
        if (hasArgs) throw new ExecError(`${name} has arguments but cannot be invoked as function`);
        return value;
      }
    }
    throw new ExecError(`can't evaluate field ${name} in type ${goTypeName(recv)}`);
  }
}

/** Marks an already formatted execution error. */
class EngineFailure extends Error {}

/**
 * Parses a Go template once; the returned function renders it for one value.
 * @throws invalid-parameter "template parsing error: template: :1: ..." on a parse error.
 * The render function throws invalid-parameter "template: :L:C: executing ..." on an execution error.
 */
export function compileTemplate(src: string, options: TemplateOptions = {}): RenderFunc {
  const funcs: Record<string, TemplateFunc> = { ...builtins, ...options.funcs };
  const names = new Set([...Object.keys(funcs), "and", "or"]);
  let nodes: Node[];
  try {
    nodes = new Parser(src, names).parse();
  } catch (e) {
    if (e instanceof ParseError) throw invalidParameter(`template parsing error: ${e.message}`);
    throw e;
  }
  return (data: unknown): string => {
    const ex = new Exec(src, funcs);
    try {
      ex.walk(nodes, { dot: data, vars: [{ name: "$", value: data }] });
    } catch (e) {
      if (e instanceof EngineFailure) throw invalidParameter(e.message, { cause: e.cause });
      throw e;
    }
    return ex.out;
  };
}

/** compileTemplate(src, options)(data). */
export function renderTemplate(src: string, data: unknown, options: TemplateOptions = {}): string {
  return compileTemplate(src, options)(data);
}

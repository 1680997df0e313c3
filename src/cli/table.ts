/**
 * List output as docker prints it (docker/cli cli/command/formatter): the
 * `--format` forms "table", "table TEMPLATE", "json" and a plain Go template,
 * and Go's text/tabwriter column alignment with docker's settings
 * (minwidth 10, tabwidth 1, padding 3, padchar ' ', no flags).
 */
import { invalidParameter, isEngineError } from "../core/index.ts";
import { compileTemplate, headerFuncs, type RenderFunc } from "./template.ts";

export interface TabwriteOptions {
  /** Minimal cell width including padding. Docker: 10. */
  readonly minWidth?: number;
  /** Padding added to the widest cell of a column. Docker: 3. */
  readonly padding?: number;
}

const DOCKER_MIN_WIDTH = 10;
const DOCKER_PADDING = 3;

/** Display width of a string: East Asian wide characters count 2, combining marks 0 (as go-runewidth). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
    if (/\p{Mn}|\p{Me}|\u200b|\u200d/u.test(ch)) continue;
    w += isWide(cp) ? 2 : 1;
  }
  return w;
}

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/**
 * Go text/tabwriter on text: cells end at "\t"; tab-terminated cells in
 * contiguous lines form a column padded to its widest cell plus `padding`
 * (at least `minWidth`). Text after the last tab of a line is not aligned.
 */
export function tabwriteText(text: string, opts: TabwriteOptions = {}): string {
  const minWidth = opts.minWidth ?? DOCKER_MIN_WIDTH;
  const padding = opts.padding ?? DOCKER_PADDING;
  const lines = text.split("\n").map((l) => l.split("\t"));
  const cellWidths = lines.map((l) => l.map(displayWidth));
  const widths: number[] = [];
  let out = "";

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = lines[i] as string[];
      const cw = cellWidths[i] as number[];
      line.forEach((cell, j) => {
        out += cell;
        const w = widths[j];
        if (j < line.length - 1 && w !== undefined) out += " ".repeat(Math.max(0, w - (cw[j] ?? 0)));
      });
      if (i + 1 < lines.length) out += "\n";
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= (lines[cur] as string[]).length - 1) continue;
      // A column block starts here: print the lines before it, measure it, recurse.
      writeLines(line0, cur);
      line0 = cur;
      let width = minWidth;
      for (; cur < line1; cur++) {
        const line = lines[cur] as string[];
        if (column >= line.length - 1) break;
        width = Math.max(width, ((cellWidths[cur] as number[])[column] ?? 0) + padding);
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}

/**
 * Aligns rows of cells into columns, each row ending with a newline; the last
 * cell of a row is not padded. Defaults are docker's (minWidth 10, padding 3).
 */
export function tabwrite(lines: readonly (readonly string[])[], opts: TabwriteOptions = {}): string {
  return tabwriteText(lines.map((l) => `${l.join("\t")}\n`).join(""), opts);
}

export interface FormatRowsOptions {
  /** The --format value: undefined/"" or "table" (default table), "table TEMPLATE", "json", or a Go template. */
  readonly format?: string | undefined;
  /** The command's default table, e.g. "table {{.ID}}\t{{.Image}}" (the "table" prefix is optional). */
  readonly defaultTable: string;
  /** Header text per field name, e.g. { ID: "CONTAINER ID" }; fields not listed get an empty header, as in docker. */
  readonly headers: Readonly<Record<string, string>>;
  /** The rows: plain objects (maps) or class instances (structs with getters/methods). */
  readonly rows: readonly object[];
  /** -q: with the default table, print only `quietFormat` per row, without a header. */
  readonly quiet?: boolean | undefined;
  /** The quiet template; docker's default is "{{.ID}}". */
  readonly quietFormat?: string;
}

/** A header context: a Go map[string]string, where a missing key is "". */
class HeaderMap extends Map<string, string> {
  override get(key: string): string {
    return super.get(key) ?? "";
  }
}

const TABLE = "table";

/** docker's Context.preFormat: strip "table", trim spaces, expand literal \t and \n. */
function finalFormat(format: string, isTable: boolean): string {
  const body = isTable ? format.slice(TABLE.length) : format === "json" ? "{{json .}}" : format;
  return body.replace(/^ +| +$/g, "").replaceAll("\\t", "\t").replaceAll("\\n", "\n");
}

function compile(src: string): RenderFunc {
  return compileTemplate(src);
}

function run(render: RenderFunc, data: unknown): string {
  try {
    return render(data);
  } catch (e) {
    if (isEngineError(e) && e.kind === "invalid-parameter") {
      throw invalidParameter(`template parsing error: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Renders the rows of a list command as docker does.
 *
 * - undefined, "" or "table": `defaultTable` (or `quietFormat` without header when `quiet`);
 * - "table TEMPLATE": a header row (the template run on `headers` with docker's
 *   header functions) and one row per item, aligned with tabwriter;
 * - "json": one JSON object per line;
 * - anything else: the template once per row, each followed by a newline.
 *
 * @throws invalid-parameter "template parsing error: ..." for a bad template or a failing row.
 */
export function formatRows(opts: FormatRowsOptions): string {
  let format = opts.format === undefined || opts.format === "" ? TABLE : opts.format;
  if (format === TABLE) {
    if (opts.quiet === true) format = opts.quietFormat ?? "{{.ID}}";
    else format = opts.defaultTable.startsWith(TABLE) ? opts.defaultTable : `${TABLE} ${opts.defaultTable}`;
  }
  const isTable = format.startsWith(TABLE);
  const src = finalFormat(format, isTable);
  const render = compile(src);
  let body = "";
  for (const row of opts.rows) body += `${run(render, row)}\n`;
  if (!isTable) return body;
  const headerRender = compileTemplate(src, { funcs: headerFuncs });
  let header: string;
  try {
    header = headerRender(new HeaderMap(Object.entries(opts.headers)));
  } catch {
    header = ""; // docker ignores header errors
  }
  return tabwriteText(`${header}\n${body}`);
}

import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/index.ts";
import { displayWidth, formatRows, tabwrite, tabwriteText } from "./table.ts";

const imageHeaders = { Repository: "REPOSITORY", Tag: "TAG", ID: "IMAGE ID", CreatedSince: "CREATED", Size: "SIZE" };
const imageTable = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const images = [
  { Repository: "alpine", Tag: "latest", ID: "05455a08881e", CreatedSince: "2 weeks ago", Size: "7.38MB" },
  { Repository: "localhost:5000/team/app", Tag: "v1.2.3", ID: "0123456789ab", CreatedSince: "3 months ago", Size: "1.2GB" },
];

test("default table matches docker images output byte for byte", () => {
  const out = formatRows({ defaultTable: imageTable, headers: imageHeaders, rows: images.slice(0, 1) });
  assert.equal(
    out,
    "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n" + "alpine       latest    05455a08881e   2 weeks ago   7.38MB\n",
  );
  const two = formatRows({ format: "table", defaultTable: imageTable, headers: imageHeaders, rows: images });
  assert.equal(
    two,
    "REPOSITORY                TAG       IMAGE ID       CREATED        SIZE\n" +
      "alpine                    latest    05455a08881e   2 weeks ago    7.38MB\n" +
      "localhost:5000/team/app   v1.2.3    0123456789ab   3 months ago   1.2GB\n",
  );
});

test("docker volume ls: minimum column width 10", () => {
  const out = formatRows({
    defaultTable: "table {{.Driver}}\t{{.Name}}",
    headers: { Driver: "DRIVER", Name: "VOLUME NAME" },
    rows: [{ Driver: "local", Name: "v1" }],
  });
  assert.equal(out, "DRIVER    VOLUME NAME\nlocal     v1\n");
});

test("an empty list prints only the header", () => {
  assert.equal(formatRows({ defaultTable: imageTable, headers: imageHeaders, rows: [] }), "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n");
});

test("custom table: literal \\t expands, header functions pass through, unknown headers are empty", () => {
  const out = formatRows({
    format: "table {{.ID}}\\t{{upper .Repository}}\\t{{.Nope}}",
    defaultTable: imageTable,
    headers: imageHeaders,
    rows: images.slice(0, 1),
  });
  assert.equal(out, "IMAGE ID       REPOSITORY   \n05455a08881e   ALPINE       <no value>\n");
});

test("plain template: once per row, tabs left alone, no header", () => {
  const out = formatRows({ format: "{{.Repository}}:{{.Tag}}\t{{.ID}}", defaultTable: imageTable, headers: imageHeaders, rows: images });
  assert.equal(out, "alpine:latest\t05455a08881e\nlocalhost:5000/team/app:v1.2.3\t0123456789ab\n");
});

test("json: one object per line", () => {
  const out = formatRows({ format: "json", defaultTable: imageTable, headers: imageHeaders, rows: [{ A: 1 }, { A: "x" }] });
  assert.equal(out, '{"A":1}\n{"A":"x"}\n');
});

test("quiet prints the ID only with the default table, and is ignored with a custom format", () => {
  assert.equal(formatRows({ quiet: true, defaultTable: imageTable, headers: imageHeaders, rows: images }), "05455a08881e\n0123456789ab\n");
  assert.equal(
    formatRows({ quiet: true, quietFormat: "{{.Tag}}", format: "table", defaultTable: imageTable, headers: imageHeaders, rows: images }),
    "latest\nv1.2.3\n",
  );
  assert.equal(formatRows({ quiet: true, format: "{{.Tag}}", defaultTable: imageTable, headers: imageHeaders, rows: images }), "latest\nv1.2.3\n");
});

test("rows may be class instances with getters", () => {
  class Row {
    readonly #id: string;
    constructor(id: string) {
      this.#id = id;
    }
    get ID(): string {
      return this.#id.slice(0, 3);
    }
  }
  assert.equal(formatRows({ format: "{{.ID}}", defaultTable: "", headers: {}, rows: [new Row("abcdef")] }), "abc\n");
});

test("template errors are invalid-parameter with docker's prefix", () => {
  assert.throws(
    () => formatRows({ format: "{{.ID", defaultTable: imageTable, headers: imageHeaders, rows: images }),
    (e: unknown) => kindOf(e) === "invalid-parameter" && (e as Error).message === "template parsing error: template: :1: unclosed action",
  );
  assert.throws(
    () => formatRows({ format: "{{.ID.X}}", defaultTable: imageTable, headers: imageHeaders, rows: images }),
    (e: unknown) =>
      kindOf(e) === "invalid-parameter" &&
      (e as Error).message === 'template parsing error: template: :1:2: executing "" at <.ID.X>: can\'t evaluate field X in type string',
  );
});

test("tabwriteText: columns are blocks of contiguous tab-terminated cells (Go's example)", () => {
  const text = "aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n";
  assert.equal(tabwriteText(text, { minWidth: 0, padding: 1 }), "aaaa bbb d\naa   b   dd\na    \naa   cccc eee\n");
  // Lines without tabs break a column block.
  assert.equal(tabwriteText("a\tb\nheader\nlonger\tc\n", { minWidth: 0, padding: 2 }), "a  b\nheader\nlonger  c\n");
  // Text without a trailing newline is written as is at the end.
  assert.equal(tabwriteText("x\ty", { minWidth: 0, padding: 1 }), "x y");
});

test("tabwrite: rows of cells with docker defaults; wide characters count double", () => {
  assert.equal(tabwrite([["NAME", "ID"], ["a", "1"]]), "NAME      ID\na         1\n");
  assert.equal(tabwrite([["NAME", "ID"], ["a", "1"]], { minWidth: 0, padding: 1 }), "NAME ID\na    1\n");
  assert.equal(displayWidth("日本"), 4);
  assert.equal(displayWidth("e\u0301"), 1);
  assert.equal(tabwrite([["日本語", "x"], ["abc", "y"]], { minWidth: 0, padding: 1 }), "日本語 x\nabc    y\n");
});

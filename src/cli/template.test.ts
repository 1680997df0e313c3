import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/index.ts";
import { compileTemplate, headerFuncs, renderTemplate, sprintf } from "./template.ts";

class Container {
  readonly ID = "abc123";
  readonly labels: Record<string, string> = { a: "1" };
  Label(name: string): string {
    return this.labels[name] ?? "";
  }
  get Names(): string {
    return "web";
  }
}

const data = {
  Name: "node",
  Id: "sha256:1234",
  Config: { Env: ["A=1", "B=2"], Labels: { b: "2", a: "1" }, Cmd: null },
  List: ["a", "b", "c"],
  Empty: [] as string[],
  Map: { key: "value", "with space": "x" },
  Count: 3,
  Size: 1.5,
  Big: 1e21,
  Zero: 0,
  Flag: true,
  Nested: [{ N: "x", V: 1 }, { N: "y", V: 2 }],
  Mixed: ["a", null, 2],
  Created: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
  Ports: new Map([["80/tcp", "8080"]]),
};

const good: { src: string; want: string; data?: unknown }[] = [
  { src: "plain text", want: "plain text" },
  { src: "{{.Name}}", want: "node" },
  { src: "{{ .Name }}", want: "node" },
  { src: "{{.Config.Env}}", want: "[A=1 B=2]" },
  { src: "{{.Config.Labels}}", want: "map[a:1 b:2]" },
  { src: "{{.Config.Cmd}}", want: "<no value>" },
  { src: "{{.Missing}}", want: "<no value>" },
  { src: "{{.Mixed}}", want: "[a <nil> 2]" },
  { src: "{{.Count}} {{.Size}} {{.Big}} {{.Zero}} {{.Flag}}", want: "3 1.5 1e+21 0 true" },
  { src: "{{.Created}}", want: "2024-01-02 03:04:05 +0000 UTC" },
  { src: "{{.Ports}}", want: "map[80/tcp:8080]" },
  { src: "{{json .Config}}", want: '{"Env":["A=1","B=2"],"Labels":{"b":"2","a":"1"},"Cmd":null}' },
  { src: "{{json .List}}", want: '["a","b","c"]' },
  { src: "{{json .Created}}", want: '"2024-01-02T03:04:05Z"' },
  { src: "{{json .}}", want: '{"T":"2024-01-02T03:04:05.12Z"}', data: { T: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120)) } },
  { src: "{{json .Ports}}", want: '{"80/tcp":"8080"}' },
  { src: "{{json .}}", want: '{"a":"<b>&"}', data: { a: "<b>&" } },
  { src: "{{.List | json}}", want: '["a","b","c"]' },
  { src: '{{join .List ", "}}', want: "a, b, c" },
  { src: "{{range .List}}[{{.}}]{{end}}", want: "[a][b][c]" },
  { src: "{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}", want: "0=a 1=b 2=c " },
  { src: "{{range $e := .List}}{{$e}}{{end}}", want: "abc" },
  { src: "{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}", want: "a:1;b:2;" },
  { src: "{{range .Empty}}x{{else}}none{{end}}", want: "none" },
  { src: "{{range .Nested}}{{.N}}{{$.Name}} {{end}}", want: "xnode ynode " },
  { src: "{{range .List}}{{if eq . \"b\"}}{{continue}}{{end}}{{.}}{{end}}", want: "ac" },
  { src: "{{range .List}}{{if eq . \"b\"}}{{break}}{{end}}{{.}}{{end}}", want: "a" },
  { src: "{{range 3}}{{.}}{{end}}", want: "012" },
  { src: "{{if .Flag}}yes{{else}}no{{end}}", want: "yes" },
  { src: "{{if .Empty}}yes{{else}}no{{end}}", want: "no" },
  { src: "{{if .Zero}}a{{else if .Count}}b{{else}}c{{end}}", want: "b" },
  { src: "{{if .Missing}}a{{end}}", want: "" },
  { src: "{{with .Config}}{{.Env}}{{end}}", want: "[A=1 B=2]" },
  { src: "{{with .Missing}}a{{else with .Name}}{{.}}{{end}}", want: "node" },
  { src: '{{index .Map "key"}}', want: "value" },
  { src: '{{index .Map "with space"}}', want: "x" },
  { src: '{{index .Map "nope"}}', want: "<no value>" },
  { src: "{{index .List 1}}", want: "b" },
  { src: '{{index .Ports "80/tcp"}}', want: "8080" },
  { src: "{{len .List}} {{len .Name}} {{len .Map}}", want: "3 4 2" },
  { src: '{{printf "%s-%d" .Name .Count}}', want: "node-3" },
  { src: '{{printf "%v" .List}}', want: "[a b c]" },
  { src: "{{println}}", want: "\n" },
  { src: '{{println "a" 1}}', want: "a 1\n" },
  { src: '{{print "a" "b" 1 2}}', want: "ab1 2" },
  { src: '{{upper "abc"}} {{lower "ABC"}} {{title "hello wide world"}}', want: "ABC abc Hello Wide World" },
  { src: '{{split "a,b,c" ","}}', want: "[a b c]" },
  { src: '{{index (split "a,b,c" ",") 2}}', want: "c" },
  { src: '{{truncate "abcdef" 3}}|{{truncate "ab" 3}}', want: "abc|ab" },
  { src: '{{pad "x" 1 2}}|{{pad "" 1 2}}', want: " x  |" },
  { src: "{{.Name | upper | printf \"%s!\"}}", want: "NODE!" },
  { src: "a  {{- .Name -}}  b", want: "anodeb" },
  { src: "a\n{{- /* comment */ -}}\nb", want: "ab" },
  { src: "a{{/* c */}}b", want: "ab" },
  { src: "{{-3}}", want: "-3" },
  { src: "{{$x := 1}}{{$x = 2}}{{$x}}", want: "2" },
  { src: "{{$n := .Name}}{{range .List}}{{$n}}{{end}}", want: "nodenodenode" },
  { src: "{{$.Name}}", want: "node" },
  { src: "{{and 1 0}} {{and 1 2}} {{or 0 \"x\"}} {{or 0 \"\"}} {{not .Flag}}", want: "0 2 x  false" },
  { src: "{{and .Missing .Missing.X}}", want: "<no value>" },
  { src: '{{eq .Name "node"}} {{eq .Count 1 2 3}} {{ne .Count 3}} {{lt 1 2}} {{ge "b" "a"}}', want: "true true false true true" },
  { src: '{{slice "abcdef" 1 3}} {{slice .List 1}}', want: "bc [b c]" },
  { src: "{{(index .Nested 1).N}}", want: "y" },
  { src: "{{len (index .Nested 0)}}", want: "2" },
  { src: '{{.ID}} {{.Names}} {{.Label "a"}} {{.Label "zz"}}', want: "abc123 web 1 ", data: new Container() },
  { src: '{{"quoted \\"x\\"\\n"}}{{`raw\\n`}}', want: 'quoted "x"\nraw\\n' },
  { src: "{{html \"<a href='x'>\"}}", want: "&lt;a href=&#39;x&#39;&gt;" },
  { src: '{{urlquery "a b&c"}}', want: "a+b%26c" },
  { src: "{{.}}", want: "hello", data: "hello" },
];

test("renderTemplate: table of templates and outputs", () => {
  for (const c of good) {
    assert.equal(renderTemplate(c.src, c.data === undefined ? data : c.data), c.want, c.src);
  }
});

const parseErrors: { src: string; want: string }[] = [
  { src: "{{.Name", want: "template parsing error: template: :1: unclosed action" },
  { src: "{{foo}}", want: 'template parsing error: template: :1: function "foo" not defined' },
  { src: "{{end}}", want: "template parsing error: template: :1: unexpected {{end}}" },
  { src: "{{if .X}}a", want: "template parsing error: template: :1: unexpected EOF" },
  { src: "a\n{{$x}}", want: 'template parsing error: template: :2: undefined variable "$x"' },
  { src: "{{range .L}}{{end}}{{$e}}", want: 'template parsing error: template: :1: undefined variable "$e"' },
  { src: "{{break}}", want: "template parsing error: template: :1: {{break}} outside {{range}}" },
  { src: '{{"abc}}', want: "template parsing error: template: :1: unterminated quoted string" },
  { src: "{{(len .X}}", want: "template parsing error: template: :1: unclosed left paren" },
  { src: "{{/* x }}", want: "template parsing error: template: :1: unclosed comment" },
  { src: "{{}}", want: "template parsing error: template: :1: missing value for command" },
];

test("compileTemplate: parse errors use Go's wording behind docker's prefix", () => {
  for (const c of parseErrors) {
    assert.throws(
      () => compileTemplate(c.src),
      (e: unknown) => {
        assert.equal(kindOf(e), "invalid-parameter", c.src);
        assert.equal((e as Error).message, c.want, c.src);
        return true;
      },
      c.src,
    );
  }
});

const execErrors: { src: string; data: unknown; want: string }[] = [
  { src: "{{.a.b}}", data: {}, want: 'template: :1:2: executing "" at <.a.b>: nil pointer evaluating interface {}.b' },
  { src: "x\n {{.Name.X}}", data: { Name: "n" }, want: 'template: :2:3: executing "" at <.Name.X>: can\'t evaluate field X in type string' },
  { src: "{{.Nope}}", data: new Container(), want: 'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type Container' },
  { src: "{{upper 1}}", data: {}, want: 'template: :1:2: executing "" at <upper>: wrong type for value; expected string; got int' },
  { src: "{{index .L 5}}", data: { L: [1] }, want: 'template: :1:2: executing "" at <index>: error calling index: index out of range: 5' },
  { src: "{{len .X}}", data: {}, want: 'template: :1:2: executing "" at <len>: error calling len: len of nil pointer' },
];

test("render: execution errors are invalid-parameter with Go's position and node", () => {
  for (const c of execErrors) {
    const render = compileTemplate(c.src);
    assert.throws(
      () => render(c.data),
      (e: unknown) => {
        assert.equal(kindOf(e), "invalid-parameter", c.src);
        assert.equal((e as Error).message, c.want, c.src);
        return true;
      },
      c.src,
    );
  }
});

test("a compiled template renders many values and keeps no state between them", () => {
  const render = compileTemplate("{{$x := .A}}{{$x}}");
  assert.equal(render({ A: 1 }), "1");
  assert.equal(render({ A: 2 }), "2");
});

test("header functions pass header strings through unchanged", () => {
  const src = "{{.ID}}\t{{json .Labels}}\t{{upper .Name}}\t{{truncate .Name 2}}";
  const headers = { ID: "CONTAINER ID", Labels: "LABELS", Name: "NAMES" };
  assert.equal(renderTemplate(src, headers, { funcs: headerFuncs }), "CONTAINER ID\tLABELS\tNAMES\tNAMES");
});

test("sprintf covers fmt's common verbs, widths and errors", () => {
  const table: [string, unknown[], string][] = [
    ["%-5s|", ["ab"], "ab   |"],
    ["%5s|", ["ab"], "   ab|"],
    ["%05d", [42], "00042"],
    ["%+d", [5], "+5"],
    ["%x %X", [255, 255], "ff FF"],
    ["%x", ["hi"], "6869"],
    ["%.2f", [3.14159], "3.14"],
    ["%8.3f|", [3.14159], "   3.142|"],
    ["%e", [1234.5678], "1.234568e+03"],
    ["%q", ["a\"b"], '"a\\"b"'],
    ["%t", [true], "true"],
    ["%c", [65], "A"],
    ["%v %v", [[1, 2], { b: 1, a: 2 }], "[1 2] map[a:2 b:1]"],
    ["%.3s", ["abcdef"], "abc"],
    ["100%%", [], "100%"],
    ["%d", [], "%!d(MISSING)"],
    ["%d", ["x"], "%!d(string=x)"],
    ["%s", ["a", 1], "a%!(EXTRA int=1)"],
  ];
  for (const [f, args, want] of table) assert.equal(sprintf(f, args), want, f);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { FlagSet, flagBool, flagList, flagString } from "./flags.ts";
import { kindOf } from "../core/index.ts";

const fs = new FlagSet([
  { name: "interactive", short: "i", type: "bool", description: "" },
  { name: "tty", short: "t", type: "bool", description: "" },
  { name: "env", short: "e", type: "strings", description: "" },
  { name: "name", type: "string", description: "" },
  { name: "publish", short: "p", type: "strings", description: "" },
]);

const cases = [
  { name: "grouped bools", argv: ["-it", "img"], want: { i: true, t: true, args: ["img"] } },
  { name: "long with =", argv: ["--name=web", "img"], want: { name: "web", args: ["img"] } },
  { name: "long with space", argv: ["--name", "web", "img"], want: { name: "web", args: ["img"] } },
  { name: "short attached", argv: ["-eA=1", "-e", "B=2", "img"], want: { env: ["A=1", "B=2"], args: ["img"] } },
  { name: "stops at first positional", argv: ["img", "ls", "-l"], want: { args: ["img", "ls", "-l"] } },
  { name: "bool =false", argv: ["--tty=false", "img"], want: { t: false, args: ["img"] } },
  { name: "double dash", argv: ["--", "-x"], want: { args: ["-x"] } },
  { name: "grouped then value", argv: ["-ip", "80:80", "img"], want: { i: true, publish: ["80:80"], args: ["img"] } },
];

for (const c of cases) {
  test(`flags: ${c.name}`, () => {
    const p = fs.parse(c.argv, { interspersed: false });
    assert.deepEqual(p.args, c.want.args);
    if ("i" in c.want) assert.equal(flagBool(p, "interactive"), c.want.i);
    if ("t" in c.want) assert.equal(flagBool(p, "tty"), c.want.t);
    if ("name" in c.want) assert.equal(flagString(p, "name"), c.want.name);
    if ("env" in c.want) assert.deepEqual(flagList(p, "env"), c.want.env);
    if ("publish" in c.want) assert.deepEqual(flagList(p, "publish"), c.want.publish);
  });
}

test("flags: interspersed keeps parsing after positionals", () => {
  const p = fs.parse(["a", "--name", "x", "b"]);
  assert.deepEqual(p.args, ["a", "b"]);
  assert.equal(flagString(p, "name"), "x");
});

test("flags: unknown and missing arguments are invalid-parameter with pflag wording", () => {
  assert.throws(() => fs.parse(["--nope"]), (e: unknown) => kindOf(e) === "invalid-parameter" && /unknown flag: --nope/.test(String(e)));
  assert.throws(() => fs.parse(["-z"]), /unknown shorthand flag: 'z' in -z/);
  assert.throws(() => fs.parse(["--name"]), /flag needs an argument: --name/);
});

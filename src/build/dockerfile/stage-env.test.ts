import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDockerfile, type Instruction } from "./instructions.ts";
import { StageEnv } from "./stage-env.ts";

function walk(src: string, opts: { buildArgs?: Record<string, string>; baseEnv?: string[] } = {}) {
  const df = parseDockerfile(src, { buildArgs: opts.buildArgs ?? {} });
  const st = df.stages[df.stages.length - 1];
  assert.ok(st);
  const scope = new StageEnv({ baseEnv: opts.baseEnv ?? [], buildArgs: opts.buildArgs ?? {}, globalArgs: df.globalArgs, escape: df.directives.escape });
  const steps = st.commands.map((c) => scope.step(c));
  return { scope, steps, out: steps.map((s) => s.instruction as Instruction) };
}

test("ENV builds on the base image environment; pairs see the old values", () => {
  const { scope, out } = walk("FROM node\nENV PATH=/app/bin:$PATH A=1\nENV A=2 B=$A\nWORKDIR /home/$A\n", { baseEnv: ["PATH=/usr/bin", "NODE_VERSION=20"] });
  assert.deepEqual([...scope.env], [["PATH", "/app/bin:/usr/bin"], ["NODE_VERSION", "20"], ["A", "2"], ["B", "1"]]);
  const wd = out[2];
  assert.ok(wd?.kind === "workdir");
  assert.equal(wd.path, "/home/2");
});

test("ARG: build arg > expanded default > global; undeclared build args invisible", () => {
  const src = "ARG G=global\nARG H\nFROM x\nARG G\nARG D=${G}-d\nARG B=def\nARG N\nARG H\nLABEL g=$G d=$D b=$B n=$N u=$UNDECL h=$H\n";
  const { scope, out } = walk(src, { buildArgs: { B: "cli", UNDECL: "nope", H: "fromcli" } });
  const label = out[out.length - 1];
  assert.ok(label?.kind === "label");
  assert.deepEqual(label.pairs.map((p) => `${p.key}=${p.value}`), ["g=global", "d=global-d", "b=cli", "n=", "u=", "h=fromcli"]);
  assert.deepEqual([...scope.args], [["G", "global"], ["D", "global-d"], ["B", "cli"], ["H", "fromcli"]]);
});

test("ENV overrides an ARG of the same name", () => {
  const { out } = walk("FROM x\nARG V=arg\nENV V=env\nARG V\nUSER $V\n", { buildArgs: {} });
  const user = out[out.length - 1];
  assert.ok(user?.kind === "user");
  assert.equal(user.user, "env");
});

test("matched variables per step (cache keying)", () => {
  const { steps } = walk("FROM x\nARG V=1\nRUN echo $V\nCOPY a /$V/\n");
  assert.deepEqual(steps.map((s) => [...s.matched]), [[], [], ["V"]]);
});

test("runEnv: image env, unshadowed args, proxy build args", () => {
  const { scope } = walk("FROM x\nARG A=1\nENV B=2\nARG B=3\n", { buildArgs: { HTTP_PROXY: "http://p:3128", OTHER: "x" }, baseEnv: ["PATH=/bin"] });
  assert.deepEqual(scope.runEnv(), ["PATH=/bin", "B=2", "A=1", "HTTP_PROXY=http://p:3128"]);
});

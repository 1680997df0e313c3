import { test } from "node:test";
import assert from "node:assert/strict";
import { kindOf } from "../core/index.ts";
import { applyChanges } from "./image-changes.ts";

const cases: { name: string; changes: string[]; want: Record<string, unknown> }[] = [
  { name: "CMD exec form", changes: ['CMD ["node","server.js"]'], want: { Cmd: ["node", "server.js"] } },
  { name: "CMD shell form", changes: ["CMD echo hi"], want: { Cmd: ["/bin/sh", "-c", "echo hi"] } },
  { name: "ENTRYPOINT", changes: ['ENTRYPOINT ["/init"]'], want: { Entrypoint: ["/init"] } },
  { name: "ENV pairs and override", changes: ["ENV A=1 B=\"two words\"", "ENV A=3"], want: { Env: ["PATH=/bin", "A=3", "B=two words"] } },
  { name: "ENV legacy form", changes: ["ENV GREETING hello world"], want: { Env: ["PATH=/bin", "GREETING=hello world"] } },
  { name: "WORKDIR relative joins", changes: ["WORKDIR /app", "WORKDIR src"], want: { WorkingDir: "/app/src" } },
  { name: "EXPOSE", changes: ["EXPOSE 80 53/udp"], want: { ExposedPorts: { "80/tcp": {}, "53/udp": {} } } },
  { name: "USER", changes: ["USER node:node"], want: { User: "node:node" } },
  { name: "LABEL", changes: ['LABEL a=b "c d"=e'], want: { Labels: { a: "b", "c d": "e" } } },
  { name: "VOLUME json", changes: ['VOLUME ["/data", "/logs"]'], want: { Volumes: { "/data": {}, "/logs": {} } } },
  { name: "lowercase keyword", changes: ["cmd ls"], want: { Cmd: ["/bin/sh", "-c", "ls"] } },
];

for (const c of cases) {
  test(`--change: ${c.name}`, () => {
    const got = applyChanges({ Env: ["PATH=/bin"] }, c.changes) as Record<string, unknown>;
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(got[k], v);
  });
}

test("--change: RUN and unknown keywords are refused", () => {
  assert.throws(() => applyChanges({}, ["RUN ls"]), (e) => kindOf(e) === "invalid-parameter" && /RUN is not a valid change command/.test(String(e)));
  assert.throws(() => applyChanges({}, ["EXPOSE abc"]), (e) => kindOf(e) === "invalid-parameter");
});

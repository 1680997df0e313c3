import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePs } from "./container-top.ts";

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root         200       1  0 10:01 ?        00:00:00 sh -c sleep 300
root         201     200  0 10:01 ?        00:00:00 sleep 300
`;

test("parsePs keeps only the container's PIDs and joins the command's words", () => {
  const r = parsePs(PS, new Set([200, 201]));
  assert.deepEqual(r.Titles, ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
  assert.deepEqual(r.Processes, [
    ["root", "200", "1", "0", "10:01", "?", "00:00:00", "sh -c sleep 300"],
    ["root", "201", "200", "0", "10:01", "?", "00:00:00", "sleep 300"],
  ]);
});

test("parsePs needs a PID column", () => {
  assert.throws(() => parsePs("USER COMMAND\nroot x\n", new Set([1])), /Couldn't find PID field/);
});

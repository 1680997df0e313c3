import { test } from "node:test";
import assert from "node:assert/strict";
import { loginServer } from "./server.ts";

test("loginServer: Docker Hub by default and for its aliases; scheme and path dropped", () => {
  const hub = { host: "docker.io", shown: "https://index.docker.io/v1/" };
  assert.deepEqual(loginServer(undefined), hub);
  assert.deepEqual(loginServer("docker.io"), hub);
  assert.deepEqual(loginServer("https://index.docker.io/v1/"), hub);
  assert.deepEqual(loginServer("registry-1.docker.io"), hub);
  assert.deepEqual(loginServer("127.0.0.1:5000"), { host: "127.0.0.1:5000", shown: "127.0.0.1:5000" });
  assert.deepEqual(loginServer("https://Reg.Example.com:443/v2/"), { host: "reg.example.com:443", shown: "Reg.Example.com:443" });
});

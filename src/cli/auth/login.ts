/**
 * `berth login [OPTIONS] [SERVER]` (docker login): checks the credentials
 * against the registry, then stores them in Docker's config.json
 * ($DOCKER_CONFIG/config.json or ~/.docker/config.json) or its credential
 * helper. The password is never printed, logged or put in an error.
 */
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline/promises";
import { Writable } from "node:stream";
import { authKey, login } from "../../registry/index.ts";
import { createRegistryClient, dockerConfigPath } from "../../engine/registry-client-factory.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";
import { loginServer } from "./server.ts";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(parts).toString("utf8");
}

/** One line from a terminal; with `hidden` nothing typed is echoed. */
async function prompt(ctx: CliContext, question: string, hidden: boolean): Promise<string> {
  ctx.io.stdout.write(question);
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: ctx.io.stdin, output: hidden ? muted : ctx.io.stdout, terminal: hidden });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
    });
    if (hidden) ctx.io.stdout.write("\n");
    return answer;
  } finally {
    rl.close();
  }
}

/** True when config.json holds the password itself (no credential helper): docker warns about it. */
async function storedInPlainText(path: string, host: string): Promise<boolean> {
  try {
    const cfg = JSON.parse(await readFile(path, "utf8")) as { auths?: Record<string, { auth?: string }> };
    return typeof cfg.auths?.[authKey(host)]?.auth === "string";
  } catch {
    return false;
  }
}

export const command: Command<CliContext> = {
  name: "login",
  usage: "berth login [OPTIONS] [SERVER]",
  summary: "Log in to a registry.\nIf no server is specified, the default is defined by the daemon.",
  maxArgs: 1,
  flags: [
    { name: "username", short: "u", type: "string", description: "Username" },
    { name: "password", short: "p", type: "string", description: "Password" },
    { name: "password-stdin", type: "bool", description: "Take the password from stdin" },
  ],
  async run(ctx, p) {
    const server = loginServer(p.args[0]);
    let username = flagString(p, "username") ?? "";
    let password = flagString(p, "password") ?? "";
    const fromStdin = flagBool(p, "password-stdin");
    if (p.set.has("password")) {
      ctx.io.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
      if (fromStdin) {
        ctx.io.stderr.write("--password and --password-stdin are mutually exclusive\n");
        return 1;
      }
    }
    if (fromStdin) {
      if (username === "") {
        ctx.io.stderr.write("Must provide --username with --password-stdin\n");
        return 1;
      }
      password = (await readAll(ctx.io.stdin)).replace(/[\r\n]+$/, "");
    }
    if (username === "" || password === "") {
      if (ctx.io.stdin.isTTY !== true) {
        ctx.io.stderr.write("Error: Cannot perform an interactive login from a non TTY device\n");
        return 1;
      }
      if (username === "") username = (await prompt(ctx, "Username: ", false)).trim();
      if (username === "") {
        ctx.io.stderr.write("Error: Non-null Username Required\n");
        return 1;
      }
      if (password === "") password = await prompt(ctx, "Password: ", true);
      if (password === "") {
        ctx.io.stderr.write("Error: Password Required\n");
        return 1;
      }
    }
    const configPath = dockerConfigPath(ctx.io.env);
    await using client = createRegistryClient(ctx.config, { env: ctx.io.env });
    try {
      await login({ client, registry: server.host, username, password, configPath, signal: ctx.io.signal });
    } catch (e) {
      // The registry library redacts secrets; this is a second guard for the message we print.
      if (e instanceof Error && password !== "" && e.message.includes(password)) e.message = e.message.split(password).join("<redacted>");
      throw e;
    }
    if (await storedInPlainText(configPath, server.host))
      ctx.io.stderr.write(
        `WARNING! Your password will be stored unencrypted in ${configPath}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n`,
      );
    ctx.io.stdout.write("Login Succeeded\n");
    return 0;
  },
};

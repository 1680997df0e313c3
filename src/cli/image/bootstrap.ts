/**
 * `berth image bootstrap [OPTIONS] KIND [NAME[:TAG]]`: make a base image
 * offline (busybox, debian, node). berth's own verb; docker has none. Progress
 * goes to stdout line by line, then "Tagged NAME" lines and the image ID;
 * with -q only the ID is printed.
 */
import { invalidParameter } from "../../core/index.ts";
import { BOOTSTRAP_KINDS, imageBootstrap, type BootstrapKind } from "../../engine/image-bootstrap.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagString } from "../flags.ts";

export const command: Command<CliContext> = {
  name: "image bootstrap",
  usage: "berth image bootstrap [OPTIONS] KIND [NAME[:TAG]]",
  summary: "Create a base image (busybox, debian, node) from host packages and the npm registry, without a registry",
  minArgs: 1,
  maxArgs: 2,
  flags: [
    { name: "mirror", type: "string", description: "Debian mirror URL (default: the host's APT sources)" },
    { name: "suite", type: "string", description: "Debian suite", default: "bookworm" },
    { name: "node-version", type: "string", description: "Node.js version: MAJOR, MAJOR.MINOR or exact", default: "24" },
    { name: "npm-version", type: "string", description: "npm version (default: the major bundled with that Node.js)" },
    { name: "host-ca", type: "bool", description: "Trust the host's extra CA certificates in the image (default: on when /usr/local/share/ca-certificates has any)" },
    { name: "no-host-ca", type: "bool", description: "Do not add the host's CA certificates" },
    { name: "platform", type: "string", description: "Set platform (only the host's is supported)" },
    { name: "quiet", short: "q", type: "bool", description: "Print only the image ID" },
  ],
  async run(ctx, p) {
    const [kindArg = "", reference] = p.args;
    if (!(BOOTSTRAP_KINDS as readonly string[]).includes(kindArg)) {
      throw invalidParameter(`unknown image kind ${JSON.stringify(kindArg)}: want one of ${BOOTSTRAP_KINDS.join(", ")}`);
    }
    if (p.set.has("host-ca") && p.set.has("no-host-ca")) throw invalidParameter("--host-ca and --no-host-ca cannot be used together");
    let platform: { os: string; architecture: string; variant?: string } | undefined;
    const platformFlag = flagString(p, "platform");
    if (platformFlag !== undefined && platformFlag !== "") {
      const [os = "linux", architecture = "", variant] = platformFlag.split("/");
      platform = variant === undefined ? { os, architecture } : { os, architecture, variant };
    }
    const quiet = flagBool(p, "quiet");
    const engine = await ctx.engine();
    const str = (name: string) => {
      const v = flagString(p, name);
      return v === undefined || v === "" ? undefined : v;
    };
    const mirror = str("mirror");
    const suite = str("suite");
    const nodeVersion = str("node-version");
    const npmVersion = str("npm-version");
    const report = await imageBootstrap(engine.ctx, {
      kind: kindArg as BootstrapKind,
      ...(reference === undefined ? {} : { reference }),
      ...(mirror === undefined ? {} : { mirror }),
      ...(suite === undefined ? {} : { suite }),
      ...(nodeVersion === undefined ? {} : { nodeVersion }),
      ...(npmVersion === undefined ? {} : { npmVersion }),
      ...(p.set.has("host-ca") ? { hostCA: flagBool(p, "host-ca") } : {}),
      ...(p.set.has("no-host-ca") ? { hostCA: !flagBool(p, "no-host-ca") } : {}),
      ...(platform === undefined ? {} : { platform }),
      env: ctx.io.env,
      signal: ctx.io.signal,
      ...(quiet ? {} : { onProgress: (line: string) => void ctx.io.stdout.write(`${line}\n`) }),
    });
    if (!quiet) for (const t of report.tags) ctx.io.stdout.write(`Tagged ${t}\n`);
    ctx.io.stdout.write(`${report.id}\n`);
    return 0;
  },
};

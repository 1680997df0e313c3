/** `berth version` (docker version). */
import { arch, release } from "node:os";
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from "../../engine/system-info.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagString } from "../flags.ts";
import { printFormatted } from "../output.ts";

export const command: Command<CliContext> = {
  name: "version",
  usage: "berth version [OPTIONS]",
  summary: "Show the berth version information",
  maxArgs: 0,
  flags: [{ name: "format", short: "f", type: "string", description: "Format output using a custom template" }],
  async run(ctx, p) {
    const osArch = `linux/${arch() === "x64" ? "amd64" : arch()}`;
    const info = {
      Client: { Platform: { Name: "berth" }, Version: ENGINE_VERSION, ApiVersion: API_VERSION, DefaultAPIVersion: API_VERSION, NodeVersion: process.version, Os: "linux", Arch: osArch.split("/")[1], Context: "default" },
      Server: {
        Platform: { Name: "berth" },
        Version: ENGINE_VERSION,
        ApiVersion: API_VERSION,
        MinAPIVersion: MIN_API_VERSION,
        Os: "linux",
        Arch: osArch.split("/")[1],
        KernelVersion: release(),
        Components: [{ Name: "Engine", Version: ENGINE_VERSION }],
      },
    };
    if (printFormatted(ctx, flagString(p, "format"), info)) return 0;
    ctx.io.stdout.write(
      [
        "Client:",
        ` Version:           ${ENGINE_VERSION}`,
        ` API version:       ${API_VERSION}`,
        ` Node version:      ${process.version}`,
        ` OS/Arch:           ${osArch}`,
        ` Context:           default`,
        "",
        "Server: berth (daemonless)",
        " Engine:",
        `  Version:          ${ENGINE_VERSION}`,
        `  API version:      ${API_VERSION} (minimum version ${MIN_API_VERSION})`,
        `  OS/Arch:          ${osArch}`,
        "",
      ].join("\n"),
    );
    return 0;
  },
};

/** `berth images` / `berth image ls` (docker image ls). */
import { shortId } from "../../core/index.ts";
import { repositoryArgFilter } from "../../engine/image-list.ts";
import type { Command } from "../command.ts";
import type { CliContext } from "../context.ts";
import { flagBool, flagList } from "../flags.ts";
import { goTime, parseFilters, printList } from "../output.ts";
import { humanSize, timeAgo } from "../units.ts";

const headers = {
  Repository: "REPOSITORY",
  Tag: "TAG",
  ID: "IMAGE ID",
  Digest: "DIGEST",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
  VirtualSize: "SIZE",
};

export const command: Command<CliContext> = {
  name: "images",
  aliases: ["docker image ls", "docker image list", "docker images"].map((s) => s.replace("docker", "berth")),
  usage: "berth images [OPTIONS] [REPOSITORY[:TAG]]",
  summary: "List images",
  maxArgs: 1,
  flags: [
    { name: "all", short: "a", type: "bool", description: "Show all images (default hides intermediate images)" },
    { name: "digests", type: "bool", description: "Show digests" },
    { name: "filter", short: "f", type: "strings", description: "Filter output based on conditions provided" },
    { name: "format", type: "string", description: "Format output using a custom template" },
    { name: "no-trunc", type: "bool", description: "Don't truncate output" },
    { name: "quiet", short: "q", type: "bool", description: "Only show image IDs" },
  ],
  async run(ctx, p) {
    const engine = await ctx.engine();
    const filters = parseFilters(flagList(p, "filter"));
    if (p.args[0] !== undefined) (filters["reference"] ??= []).push(repositoryArgFilter(p.args[0]));
    const images = await engine.imageList({ all: flagBool(p, "all"), filters, signal: ctx.io.signal });
    const noTrunc = flagBool(p, "no-trunc");
    const now = engine.ctx.now();
    const rows = images.flatMap((img) => {
      const id = noTrunc ? img.Id : shortId(img.Id);
      const created = new Date(img.Created * 1000);
      const common = {
        ID: id,
        CreatedSince: timeAgo(created, now),
        CreatedAt: goTime(created),
        Size: humanSize(img.Size),
        VirtualSize: humanSize(img.Size),
        SharedSize: "N/A",
        UniqueSize: "N/A",
        Containers: img.Containers === 0 ? "0" : String(img.Containers),
      };
      const digestFor = (repo: string): string => img.RepoDigests.find((d) => d.startsWith(`${repo}@`))?.split("@")[1] ?? "<none>";
      if (img.RepoTags.length === 0) {
        if (img.RepoDigests.length === 0) return [{ Repository: "<none>", Tag: "<none>", Digest: "<none>", ...common }];
        return img.RepoDigests.map((d) => {
          const [repo = "<none>", digest = "<none>"] = d.split("@");
          return { Repository: repo, Tag: "<none>", Digest: digest, ...common };
        });
      }
      return img.RepoTags.map((t) => {
        const i = t.lastIndexOf(":");
        const repo = t.slice(0, i);
        return { Repository: repo, Tag: t.slice(i + 1), Digest: digestFor(repo), ...common };
      });
    });
    const digests = flagBool(p, "digests");
    const defaultTable = digests
      ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
      : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
    return printList(ctx, p, { defaultTable, headers, rows });
  },
};

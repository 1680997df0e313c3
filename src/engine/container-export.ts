/**
 * `export`: a container's flattened filesystem (the overlay as mounted, so
 * image layers and the container's changes merged, whiteouts applied) as an
 * uncompressed tar. Bind mounts, volumes and berth's /etc/hosts, hostname and
 * resolv.conf are not part of it, as in docker.
 */
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { packDirectory } from "../layers/index.ts";
import type { EngineContext } from "./context.ts";
import { withContainerRootfs } from "./container-cp.ts";
import { findContainer } from "./container-record.ts";

/**
 * Writes the tar to `out` (not ended). A stopped container's rootfs is
 * mounted for the duration (see withContainerRootfs).
 * @throws not-found; cancelled on abort
 */
export async function containerExport(ctx: EngineContext, o: { container: string; out: Writable; signal?: AbortSignal }): Promise<void> {
  const sig = o.signal === undefined ? {} : { signal: o.signal };
  await withContainerRootfs(
    ctx,
    findContainer(ctx, o.container),
    async (rootfs) => {
      await pipeline(packDirectory(rootfs, sig), o.out, { end: false, ...sig });
    },
    sig,
  );
}

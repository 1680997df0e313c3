/**
 * The heavier collaborators container operations need (OCI runtime through
 * conmon, overlay snapshotter, CNI networks, host facts), made on first use
 * so image-only commands never pay for them.
 */
import { join } from "node:path";
import { unavailable } from "../core/index.ts";
import { applyLayer } from "../layers/index.ts";
import { CniNetworkBackend } from "../network/index.ts";
import { ConmonRuntime, findExecutable, probeHost, probeRuntimes, type HostFacts, type OciRuntime } from "../runtime/index.ts";
import { OverlaySnapshotter } from "../snapshots/index.ts";
import type { EngineContext } from "./context.ts";

export interface ContainerServices {
  readonly runtime: OciRuntime;
  readonly snapshotter: OverlaySnapshotter;
  readonly network: CniNetworkBackend;
  readonly host: HostFacts;
}

const cache = new WeakMap<EngineContext, Promise<ContainerServices>>();
const snapshotters = new WeakMap<EngineContext, OverlaySnapshotter>();

export function snapshotterOf(ctx: EngineContext): OverlaySnapshotter {
  let s = snapshotters.get(ctx);
  if (s === undefined) {
    s = new OverlaySnapshotter({
      root: ctx.config.root,
      apply: (tar, dest, o) => applyLayer(tar, dest, { ...(o.signal === undefined ? {} : { signal: o.signal }), allowDevices: true, mode: "layer" }),
    });
    snapshotters.set(ctx, s);
  }
  return s;
}

export function networkOf(ctx: EngineContext): CniNetworkBackend {
  return new CniNetworkBackend({ stateDir: join(ctx.config.root, "network"), runDir: join(ctx.config.runRoot, "network") });
}

async function pickRuntime(ctx: EngineContext): Promise<{ name: string; path: string }> {
  const wanted = ctx.config.runtime;
  if (wanted !== undefined) {
    const path = findExecutable(wanted);
    if (path === undefined) throw unavailable(`OCI runtime ${wanted} not found`);
    return { name: wanted.split("/").pop() ?? wanted, path };
  }
  const probes = await probeRuntimes({ runRoot: ctx.config.runRoot });
  const ok = probes.find((p) => p.works);
  if (ok === undefined) {
    const why = probes.map((p) => `${p.name}: ${p.reason ?? "does not work"}`).join("; ");
    throw unavailable(`no working OCI runtime found (runc or crun)${why === "" ? "" : `: ${why}`}`);
  }
  return ok;
}

export function containerServices(ctx: EngineContext): Promise<ContainerServices> {
  let p = cache.get(ctx);
  if (p === undefined) {
    p = (async () => {
      const conmon = findExecutable("conmon");
      if (conmon === undefined) throw unavailable("conmon not found: install the conmon package");
      const [rt, host] = await Promise.all([pickRuntime(ctx), probeHost()]);
      const runtime = new ConmonRuntime({ name: rt.name, runtimePath: rt.path, conmonPath: conmon, stateRoot: join(ctx.config.runRoot, rt.name) });
      return { runtime, snapshotter: snapshotterOf(ctx), network: networkOf(ctx), host };
    })();
    cache.set(ctx, p);
  }
  return p;
}

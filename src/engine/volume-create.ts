/** `volume create` and `volume inspect`. */
import type { VolumeCreateOptions, VolumeRecord } from "../volumes/index.ts";
import type { EngineContext } from "./context.ts";
import { volumeStoreOf } from "./volume-mounts.ts";

export function volumeCreate(ctx: EngineContext, o: VolumeCreateOptions = {}): Promise<VolumeRecord> {
  return volumeStoreOf(ctx).create(o);
}

/** @throws not-found `get <name>: no such volume` */
export function volumeInspect(ctx: EngineContext, name: string): VolumeRecord {
  return volumeStoreOf(ctx).get(name);
}

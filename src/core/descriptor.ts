/**
 * The shared vocabulary between modules: OCI descriptors, platforms, mounts
 * and labels. Plain, serialisable records only.
 */
import type { Digest } from "./digest.ts";

export type Labels = Readonly<Record<string, string>>;

export interface PlatformSpec {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly "os.version"?: string;
  readonly "os.features"?: readonly string[];
}

/** OCI descriptor (image-spec descriptor.md). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Labels;
  readonly platform?: PlatformSpec;
  readonly urls?: readonly string[];
}

/**
 * A filesystem mount, the lingua franca between snapshots, layer apply and the
 * runtime (containerd core/mount). `type: "overlay"` with lowerdir/upperdir/workdir
 * options, or `type: "bind"` with `rbind`/`ro` options.
 */
export interface Mount {
  readonly type: string;
  readonly source: string;
  readonly target?: string;
  readonly options: readonly string[];
}

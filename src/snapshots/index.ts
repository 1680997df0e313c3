export {
  chainIds,
  MAX_MOUNT_DATA,
  OverlaySnapshotter,
  type LayerApplyFn,
  type LayerMeta,
  type OverlaySnapshotterOptions,
} from "./overlay-snapshotter.ts";

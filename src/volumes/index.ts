export { VolumeStore, ANONYMOUS_LABEL, isAnonymous, diskUsage, type VolumeRecord, type VolumeCreateOptions } from "./volume-store.ts";

export * from "./types.ts";
export { CniNetworkBackend, DEFAULT_NETWORK, DEFAULT_BRIDGE, DEFAULT_SUBNET, DEFAULT_STATE_DIR, defaultBridgeFor, sweepOrphanBridges, type CniNetworkBackendOptions } from "./backend.ts";
export { parsePublish, formatPort } from "./publish.ts";
export { JsonNetworkStore } from "./store.ts";

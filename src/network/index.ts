export * from "./types.ts";
export { CniNetworkBackend, DEFAULT_NETWORK, DEFAULT_BRIDGE, DEFAULT_SUBNET, type CniNetworkBackendOptions } from "./backend.ts";
export { parsePublish, formatPort } from "./publish.ts";
export { JsonNetworkStore } from "./store.ts";

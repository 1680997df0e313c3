/**
 * Network vocabulary shared by the network module and its callers (engine, CLI, API).
 *
 * A network is a named L2 bridge with one IPv4 subnet; containers join it through
 * the CNI plugin chain run by `CniNetworkBackend` (backend.ts).
 */

/** A network as `berth network inspect` shows it (Docker field meanings, camelCase names). */
export interface NetworkConfig {
  /** Unique name; "bridge" is the default network, created on first use. */
  name: string;
  /** 64 hex characters, random. */
  id: string;
  driver: "bridge";
  /** IPv4 CIDR, network address aligned, e.g. "10.88.0.0/16". */
  subnet: string;
  /** The host's own address on the bridge; containers route through it. */
  gateway: string;
  /** Host bridge interface: "berth0" for the default network, "br-<id12>" for others. */
  bridge: string;
  /** Internal networks get no NAT, no default route, and no traffic to or from other interfaces. */
  internal: boolean;
  labels: Record<string, string>;
  /** RFC 3339 creation time. */
  created: string;
  options?: Record<string, string>;
}

/** One published port (`-p`). */
export interface PortMapping {
  /** Host address to bind; "" means all addresses (0.0.0.0). */
  hostIp: string;
  /**
   * Host port. 0 means "any free port" (docker `-p 80`); when `hostPortEnd` is set,
   * "any free port in hostPort..hostPortEnd" (docker `-p 8000-8010:80`).
   * `CniNetworkBackend.allocatePorts` / `setup` resolve these to a concrete port.
   */
  hostPort: number;
  /** Inclusive upper bound of a host port range to choose from; absent for a fixed port. */
  hostPortEnd?: number;
  containerPort: number;
  protocol: "tcp" | "udp";
}

/** What `setup` reports for one network the container joined. */
export interface NetworkStatus {
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  /** Interface name inside the container (eth0, eth1, ...). */
  interface: string;
  /** Published ports as actually bound (hostPort 0 / ranges resolved); only on the network that carries them. */
  ports?: PortMapping[];
}

/**
 * Persistence for network configs. The JSON-file implementation lives in store.ts;
 * the engine may swap in SQLite later without touching the backend.
 */
export interface NetworkStore {
  /** All networks, in name order. */
  list(): Promise<NetworkConfig[]>;
  /** undefined when absent. */
  get(name: string): Promise<NetworkConfig | undefined>;
  /** @throws conflict if a network with the same name exists. */
  create(n: NetworkConfig): Promise<void>;
  /** @throws not-found if absent. */
  delete(name: string): Promise<void>;
}

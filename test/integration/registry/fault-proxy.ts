/**
 * A fault-injecting HTTP proxy in front of a test registry (node:http on
 * 127.0.0.1). `decide` picks, per request, whether to pass it through or
 * break it in one of several ways.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type Fault =
  | { kind: "pass" }
  | { kind: "respond"; status: number; headers?: Record<string, string>; body?: string | Buffer }
  /** Forward, then flip one byte of the body (same length). */
  | { kind: "corrupt" }
  /** Forward the headers and the first half of the body, then drop the connection. */
  | { kind: "truncate" }
  /** Forward the headers and the first half of the body, then go silent. */
  | { kind: "stall" };

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
}

export interface FaultProxy {
  readonly host: string;
  readonly seen: SeenRequest[];
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, decide: (req: IncomingMessage, seen: readonly SeenRequest[]) => Fault): Promise<FaultProxy> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const srv: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ method: req.method ?? "GET", url: req.url ?? "/", ...(req.headers.range ? { range: req.headers.range } : {}) });
    const fault = decide(req, seen);
    if (fault.kind === "respond") {
      req.resume();
      res.writeHead(fault.status, fault.headers ?? {});
      // write() before end(): no Content-Length, so the body arrives chunked and the client must cap its reads itself.
      if (fault.body !== undefined && fault.body.length > 0) res.write(fault.body);
      res.end();
      return;
    }
    const headers = { ...req.headers, host: target };
    const up = request(`http://${target}${req.url ?? "/"}`, { method: req.method ?? "GET", headers }, (ur) => {
      if (fault.kind === "pass") {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        return;
      }
      const parts: Buffer[] = [];
      ur.on("data", (c: Buffer) => parts.push(c));
      ur.on("end", () => {
        const body = Buffer.concat(parts);
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (fault.kind === "corrupt") {
          if (body.length > 0) body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
          res.end(body);
          return;
        }
        res.write(body.subarray(0, body.length >> 1));
        if (fault.kind === "truncate") {
          // Let the half body reach the client, then cut the connection.
          setImmediate(() => res.socket?.destroy());
        }
        // "stall": nothing more is ever sent; stop() destroys the socket.
      });
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  srv.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  if (addr === null || typeof addr === "string") throw new Error("no address");
  return {
    host: `127.0.0.1:${addr.port}`,
    seen,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}

export * from "./registry-error.ts";
export * from "./registry-hosts.ts";
export * from "./auth-challenge.ts";
export * from "./keychain.ts";
export * from "./registry-client.ts";
export * from "./pull.ts";
export * from "./push.ts";
export * from "./login.ts";

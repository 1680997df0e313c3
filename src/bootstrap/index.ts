/**
 * bootstrap/: base image root filesystems made offline from the host's
 * Debian packages (busybox-static, debootstrap) and the npm registry (Node.js,
 * npm). engine/image-bootstrap.ts turns the trees into images.
 */
export { execTool, type ExecOptions, type ExecResult } from "./exec.ts";
export { removeTree, mountsBelow } from "./tree.ts";
export {
  DEFAULT_PATH, NODE_ENTRYPOINT_SCRIPT, SLIM_DPKG_EXCLUDES,
  writeBusyboxRootfs, parseAppletList, addUser, normalizeShadow, epochDays, parseAptMirror, hostDebianMirror,
  parseDpkgStatus, slimDebianRootfs, hostExtraCAs, writeNodeLayer, readAccounts, mkdirs,
  type AccountFiles, type UserSpec, type BusyboxRootfsOptions, type SlimOptions,
} from "./rootfs.ts";
export { DEBIAN_EXTRA_PACKAGES, debootstrapCached, makeDebianRootfs, caFingerprint, type DebootstrapOptions, type DebootstrapResult, type DebianRootfsOptions } from "./debian.ts";
export { DEFAULT_NPM_REGISTRY, npmRegistry, nodeArch, npmMajorFor, pickVersion, resolvePackage, downloadPackage, unpackPackage, type ResolvedPackage } from "./node.ts";

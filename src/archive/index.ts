/**
 * Image archives: `saveArchive` writes one tar that is both a docker-archive
 * and an OCI image layout (Docker 25+'s shape); `loadArchive` reads
 * docker-archive (old and new Docker, Podman, skopeo) and OCI layouts
 * (oci-archive from Podman, skopeo, umoci, containerd, berth).
 * See save.ts and load.ts for the formats and decisions.
 */
export { saveArchive, type SaveArchiveOptions, type SaveImage } from "./save.ts";
export { loadArchive, type LoadArchiveOptions, type LoadedImage } from "./load.ts";

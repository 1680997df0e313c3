/**
 * The engine: one object per berth process that owns the stores and offers
 * each operation as a method (the use-case layer of DESIGN.md). The CLI calls
 * it in-process; `berth serve` will expose the same methods over the Engine API.
 * Each method lives in its own module (`<noun>-<verb>.ts`); this class only
 * wires them to the shared context.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { LocalContentStore } from "../content/local-content-store.ts";
import { SqliteImageStore } from "../images/sqlite-image-store.ts";
import { Database } from "../state/index.ts";
import type { EngineConfig } from "./config.ts";
import { hostPlatform, type EngineContext } from "./context.ts";
import { collectGarbage } from "./gc.ts";
import { imageHistory } from "./image-history.ts";
import { imageImport, type ImageImportOptions } from "./image-import.ts";
import { imageInspect } from "./image-inspect.ts";
import { imageList, type ImageFilters } from "./image-list.ts";
import { imagePrune } from "./image-prune.ts";
import { imageRemove } from "./image-remove.ts";
import { findImage, resolveImage } from "./image-resolve.ts";
import { imageTag } from "./image-tag.ts";
import { imageSave } from "./image-save.ts";
import { imageLoad } from "./image-load.ts";
import { probeRuntimeBinaries, systemInfo } from "./system-info.ts";
import type { Readable, Writable } from "node:stream";
import { systemDf } from "./system-df.ts";
import { containerCreate, type ContainerCreateOptions } from "./container-create.ts";
import { containerStart, type ContainerStartOptions } from "./container-start.ts";
import { containerKill, containerPause, containerRestart, containerStop, containerUnpause } from "./container-stop.ts";
import { containerRemove } from "./container-remove.ts";
import { containerWait, waitForExit } from "./container-wait.ts";
import { containerCleanup } from "./container-cleanup.ts";
import { findContainer, listContainers, renameContainer, containerLogPath, type ContainerRecord } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import { containerInspectView } from "./container-view.ts";
import { snapshotterOf } from "./services.ts";
import type { Digest } from "../core/index.ts";
import { containerAttach, type ContainerAttachOptions } from "./container-attach.ts";
import { containerExec, type ContainerExecOptions } from "./container-exec.ts";
import { volumeCreate, volumeInspect } from "./volume-create.ts";
import { volumeList, type VolumeFilters } from "./volume-list.ts";
import { volumePrune, volumeRemove } from "./volume-remove.ts";
import type { VolumeCreateOptions } from "../volumes/index.ts";
import { networkCreate, type NetworkCreateOptions } from "./network-create.ts";
import { networkInspect, networkList } from "./network-inspect.ts";
import { networkPrune, networkRemove } from "./network-remove.ts";
import { networkConnect, networkDisconnect } from "./network-connect.ts";
import { containerArchive, containerExtract, copyFromContainer, copyToContainer } from "./container-cp.ts";
import { containerChanges } from "./container-diff.ts";
import { containerCommit, type ContainerCommitOptions } from "./container-commit.ts";
import { containerExport } from "./container-export.ts";
import { containerTop } from "./container-top.ts";
import { containerStats } from "./container-stats.ts";
import { containerPrune } from "./container-prune.ts";

export class Engine {
  readonly ctx: EngineContext;

  private constructor(ctx: EngineContext) {
    this.ctx = ctx;
  }

  static async open(config: EngineConfig, o: { now?: () => Date } = {}): Promise<Engine> {
    mkdirSync(config.root, { recursive: true, mode: 0o711 });
    const db = Database.open({ path: join(config.root, "berth.db") });
    const content = await LocalContentStore.open(config.root);
    const images = new SqliteImageStore({ db, ...(o.now === undefined ? {} : { now: o.now }) });
    return new Engine({ config, db, content, images, now: o.now ?? (() => new Date()), platform: hostPlatform() });
  }

  close(): void {
    this.ctx.db.close();
  }

  imageImport(o: ImageImportOptions) {
    return imageImport(this.ctx, o);
  }
  imageList(o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {}) {
    return imageList(this.ctx, o);
  }
  imageInspect(nameOrId: string, o: { signal?: AbortSignal } = {}) {
    return imageInspect(this.ctx, nameOrId, o);
  }
  imageHistory(nameOrId: string, o: { signal?: AbortSignal } = {}) {
    return imageHistory(this.ctx, nameOrId, o);
  }
  imageTag(source: string, target: string): void {
    imageTag(this.ctx, source, target);
  }
  imageRemove(nameOrId: string, o: { force?: boolean; noPrune?: boolean; signal?: AbortSignal } = {}) {
    return imageRemove(this.ctx, nameOrId, o);
  }
  imagePrune(o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {}) {
    return imagePrune(this.ctx, o);
  }
  imageExists(nameOrId: string): boolean {
    return findImage(this.ctx, nameOrId) !== undefined;
  }
  imageResolve(nameOrId: string) {
    return resolveImage(this.ctx, nameOrId);
  }
  imageSave(names: readonly string[], out: Writable, o: { signal?: AbortSignal } = {}) {
    return imageSave(this.ctx, names, out, o);
  }
  imageLoad(input: Readable, o: { signal?: AbortSignal; onProgress?: (msg: string) => void } = {}) {
    return imageLoad(this.ctx, input, o);
  }
  async systemInfo() {
    const runtimes = await probeRuntimeBinaries();
    const preferred = this.ctx.config.runtime ?? (runtimes["runc"] !== undefined ? "runc" : (Object.keys(runtimes)[0] ?? "none"));
    return systemInfo(this.ctx, runtimes, preferred);
  }
  containerCreate(o: ContainerCreateOptions) {
    return containerCreate(this.ctx, o);
  }
  containerStart(idOrName: string, o: ContainerStartOptions = {}) {
    return containerStart(this.ctx, idOrName, o);
  }
  containerStop(idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}) {
    return containerStop(this.ctx, idOrName, o);
  }
  containerRestart(idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}) {
    return containerRestart(this.ctx, idOrName, o);
  }
  containerKill(idOrName: string, o: { signal?: string; abort?: AbortSignal } = {}) {
    return containerKill(this.ctx, idOrName, o);
  }
  containerPause(idOrName: string) {
    return containerPause(this.ctx, idOrName);
  }
  containerUnpause(idOrName: string) {
    return containerUnpause(this.ctx, idOrName);
  }
  containerRemove(idOrName: string, o: { force?: boolean; volumes?: boolean } = {}) {
    return containerRemove(this.ctx, idOrName, o);
  }
  containerWait(idOrName: string, o: { signal?: AbortSignal } = {}) {
    return containerWait(this.ctx, idOrName, o);
  }
  /** Waits for the container's exit and returns its final record. */
  containerWaitRecord(id: string, o: { signal?: AbortSignal } = {}) {
    return waitForExit(this.ctx, id, o);
  }
  containerCleanup(id: string) {
    return containerCleanup(this.ctx, id);
  }
  containerRename(idOrName: string, newName: string): void {
    renameContainer(this.ctx, findContainer(this.ctx, idOrName).id, newName);
  }
  /** A container's current record (exits observed). @throws not-found */
  async containerGet(idOrName: string): Promise<ContainerRecord> {
    return refreshContainer(this.ctx, findContainer(this.ctx, idOrName));
  }
  async containerList(): Promise<ContainerRecord[]> {
    const out: ContainerRecord[] = [];
    for (const r of listContainers(this.ctx)) out.push(await refreshContainer(this.ctx, r));
    return out;
  }
  async containerInspect(idOrName: string, o: { size?: boolean } = {}) {
    const rec = await this.containerGet(idOrName);
    return containerInspectView(this.ctx, rec, o.size === true ? await this.containerSize(rec) : {});
  }
  /** Bytes in the container's writable layer, and with its image's (docker's SizeRw and SizeRootFs). */
  async containerSize(rec: ContainerRecord): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const upper = join(this.ctx.config.root, "containers", rec.id, "upper");
    const rw = await snapshotterOf(this.ctx).usage(upper).then((u) => u.bytes, () => 0);
    const image = this.ctx.images.find(rec.imageId as Digest);
    const imageSize = image === undefined ? 0 : (await this.imageInspect(rec.imageId).then((i) => i.Size, () => 0));
    return { sizeRw: rw, sizeRootFs: rw + imageSize };
  }
  /** Connects streams to a container's process (conmon's attach socket). */
  containerAttach(idOrName: string, o: ContainerAttachOptions = {}) {
    return containerAttach(this.ctx, idOrName, o);
  }
  /** Starts a process in a running container; the session's wait() gives its exit code. */
  containerExec(idOrName: string, o: ContainerExecOptions) {
    return containerExec(this.ctx, idOrName, o);
  }
  containerLogPath(id: string): string {
    return containerLogPath(this.ctx, id);
  }
  containerCopyTo(o: Parameters<typeof copyToContainer>[1]) {
    return copyToContainer(this.ctx, o);
  }
  containerCopyFrom(o: Parameters<typeof copyFromContainer>[1]) {
    return copyFromContainer(this.ctx, o);
  }
  containerArchive(o: Parameters<typeof containerArchive>[1]) {
    return containerArchive(this.ctx, o);
  }
  containerExtract(o: Parameters<typeof containerExtract>[1]) {
    return containerExtract(this.ctx, o);
  }
  containerChanges(idOrName: string, o: { signal?: AbortSignal } = {}) {
    return containerChanges(this.ctx, idOrName, o);
  }
  containerCommit(o: ContainerCommitOptions) {
    return containerCommit(this.ctx, o);
  }
  containerExport(o: Parameters<typeof containerExport>[1]) {
    return containerExport(this.ctx, o);
  }
  containerTop(idOrName: string, o: { psArgs?: readonly string[]; signal?: AbortSignal } = {}) {
    return containerTop(this.ctx, idOrName, o);
  }
  containerStats(o: Parameters<typeof containerStats>[1]) {
    return containerStats(this.ctx, o);
  }
  containerPrune(o: Parameters<typeof containerPrune>[1] = {}) {
    return containerPrune(this.ctx, o);
  }
  networkCreate(o: NetworkCreateOptions) {
    return networkCreate(this.ctx, o);
  }
  networkInspect(nameOrId: string) {
    return networkInspect(this.ctx, nameOrId);
  }
  networkList(o: { filters?: Record<string, string[]> } = {}) {
    return networkList(this.ctx, o);
  }
  networkRemove(nameOrId: string) {
    return networkRemove(this.ctx, nameOrId);
  }
  networkPrune(o: { filters?: Record<string, string[]> } = {}) {
    return networkPrune(this.ctx, o);
  }
  networkConnect(o: { network: string; container: string; aliases?: string[]; ip?: string; signal?: AbortSignal }) {
    return networkConnect(this.ctx, o);
  }
  networkDisconnect(o: { network: string; container: string; force?: boolean }) {
    return networkDisconnect(this.ctx, o);
  }
  volumeCreate(o: VolumeCreateOptions = {}) {
    return volumeCreate(this.ctx, o);
  }
  volumeInspect(name: string) {
    return volumeInspect(this.ctx, name);
  }
  volumeList(o: { filters?: VolumeFilters } = {}) {
    return volumeList(this.ctx, o);
  }
  volumeRemove(name: string, o: { force?: boolean } = {}) {
    return volumeRemove(this.ctx, name, o);
  }
  volumePrune(o: { all?: boolean; filters?: VolumeFilters } = {}) {
    return volumePrune(this.ctx, o);
  }
  systemDf(o: { signal?: AbortSignal } = {}) {
    return systemDf(this.ctx, o);
  }
  collectGarbage(o: { signal?: AbortSignal } = {}) {
    return collectGarbage(this.ctx, o);
  }
}

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
import type { ImageImportOptions } from "./image-import.ts";
import type { ImageFilters } from "./image-list.ts";
import { findImage, resolveImage } from "./image-resolve.ts";
import { imageTag } from "./image-tag.ts";
import type { Readable, Writable } from "node:stream";
import type { ContainerCreateOptions } from "./container-create.ts";
import type { ContainerStartOptions } from "./container-start.ts";
import { findContainer, listContainers, renameContainer, containerLogPath, type ContainerRecord } from "./container-record.ts";
import { refreshContainer } from "./container-refresh.ts";
import type { Digest } from "../core/index.ts";
import type { ContainerAttachOptions } from "./container-attach.ts";
import type { ContainerExecOptions } from "./container-exec.ts";
import type { VolumeFilters } from "./volume-list.ts";
import type { VolumeCreateOptions } from "../volumes/index.ts";
import type { NetworkCreateOptions } from "./network-create.ts";
import type { containerArchive } from "./container-cp.ts";
import type { containerExtract } from "./container-cp.ts";
import type { copyFromContainer } from "./container-cp.ts";
import type { copyToContainer } from "./container-cp.ts";
import type { ContainerCommitOptions } from "./container-commit.ts";
import type { containerExport } from "./container-export.ts";
import type { containerStats } from "./container-stats.ts";
import type { containerPrune } from "./container-prune.ts";

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

  async imageImport(o: ImageImportOptions) {
    const { imageImport } = await import("./image-import.ts");
    return imageImport(this.ctx, o);
  }
  async imageList(o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {}) {
    const { imageList } = await import("./image-list.ts");
    return imageList(this.ctx, o);
  }
  async imageInspect(nameOrId: string, o: { signal?: AbortSignal } = {}) {
    const { imageInspect } = await import("./image-inspect.ts");
    return imageInspect(this.ctx, nameOrId, o);
  }
  async imageHistory(nameOrId: string, o: { signal?: AbortSignal } = {}) {
    const { imageHistory } = await import("./image-history.ts");
    return imageHistory(this.ctx, nameOrId, o);
  }
  imageTag(source: string, target: string): void {
    imageTag(this.ctx, source, target);
  }
  async imageRemove(nameOrId: string, o: { force?: boolean; noPrune?: boolean; signal?: AbortSignal } = {}) {
    const { imageRemove } = await import("./image-remove.ts");
    return imageRemove(this.ctx, nameOrId, o);
  }
  async imagePrune(o: { all?: boolean; filters?: ImageFilters; signal?: AbortSignal } = {}) {
    const { imagePrune } = await import("./image-prune.ts");
    return imagePrune(this.ctx, o);
  }
  imageExists(nameOrId: string): boolean {
    return findImage(this.ctx, nameOrId) !== undefined;
  }
  imageResolve(nameOrId: string) {
    return resolveImage(this.ctx, nameOrId);
  }
  async imageSave(names: readonly string[], out: Writable, o: { signal?: AbortSignal } = {}) {
    const { imageSave } = await import("./image-save.ts");
    return imageSave(this.ctx, names, out, o);
  }
  async imageLoad(input: Readable, o: { signal?: AbortSignal; onProgress?: (msg: string) => void } = {}) {
    const { imageLoad } = await import("./image-load.ts");
    return imageLoad(this.ctx, input, o);
  }
  async systemInfo() {
    const { probeRuntimeBinaries, systemInfo } = await import("./system-info.ts");
    const runtimes = await probeRuntimeBinaries();
    const preferred = this.ctx.config.runtime ?? (runtimes["runc"] !== undefined ? "runc" : (Object.keys(runtimes)[0] ?? "none"));
    return systemInfo(this.ctx, runtimes, preferred);
  }
  async containerCreate(o: ContainerCreateOptions) {
    const { containerCreate } = await import("./container-create.ts");
    return containerCreate(this.ctx, o);
  }
  async containerStart(idOrName: string, o: ContainerStartOptions = {}) {
    const { containerStart } = await import("./container-start.ts");
    return containerStart(this.ctx, idOrName, o);
  }
  async containerStop(idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}) {
    const { containerStop } = await import("./container-stop.ts");
    return containerStop(this.ctx, idOrName, o);
  }
  async containerRestart(idOrName: string, o: { timeout?: number; signal?: string; abort?: AbortSignal } = {}) {
    const { containerRestart } = await import("./container-stop.ts");
    return containerRestart(this.ctx, idOrName, o);
  }
  async containerKill(idOrName: string, o: { signal?: string; abort?: AbortSignal } = {}) {
    const { containerKill } = await import("./container-stop.ts");
    return containerKill(this.ctx, idOrName, o);
  }
  async containerPause(idOrName: string) {
    const { containerPause } = await import("./container-stop.ts");
    return containerPause(this.ctx, idOrName);
  }
  async containerUnpause(idOrName: string) {
    const { containerUnpause } = await import("./container-stop.ts");
    return containerUnpause(this.ctx, idOrName);
  }
  async containerRemove(idOrName: string, o: { force?: boolean; volumes?: boolean } = {}) {
    const { containerRemove } = await import("./container-remove.ts");
    return containerRemove(this.ctx, idOrName, o);
  }
  async containerWait(idOrName: string, o: { signal?: AbortSignal } = {}) {
    const { containerWait } = await import("./container-wait.ts");
    return containerWait(this.ctx, idOrName, o);
  }
  /** Waits for the container's exit and returns its final record. */
  async containerWaitRecord(id: string, o: { signal?: AbortSignal } = {}) {
    const { waitForExit } = await import("./container-wait.ts");
    return waitForExit(this.ctx, id, o);
  }
  async containerCleanup(id: string) {
    const { containerCleanup } = await import("./container-cleanup.ts");
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
    const { containerInspectView } = await import("./container-view.ts");
    const rec = await this.containerGet(idOrName);
    return containerInspectView(this.ctx, rec, o.size === true ? await this.containerSize(rec) : {});
  }
  /** Bytes in the container's writable layer, and with its image's (docker's SizeRw and SizeRootFs). */
  async containerSize(rec: ContainerRecord): Promise<{ sizeRw: number; sizeRootFs: number }> {
    const { snapshotterOf } = await import("./services.ts");
    const upper = join(this.ctx.config.root, "containers", rec.id, "upper");
    const rw = await snapshotterOf(this.ctx).usage(upper).then((u) => u.bytes, () => 0);
    const image = this.ctx.images.find(rec.imageId as Digest);
    const imageSize = image === undefined ? 0 : (await this.imageInspect(rec.imageId).then((i) => i.Size, () => 0));
    return { sizeRw: rw, sizeRootFs: rw + imageSize };
  }
  /** Connects streams to a container's process (conmon's attach socket). */
  async containerAttach(idOrName: string, o: ContainerAttachOptions = {}) {
    const { containerAttach } = await import("./container-attach.ts");
    return containerAttach(this.ctx, idOrName, o);
  }
  /** Starts a process in a running container; the session's wait() gives its exit code. */
  async containerExec(idOrName: string, o: ContainerExecOptions) {
    const { containerExec } = await import("./container-exec.ts");
    return containerExec(this.ctx, idOrName, o);
  }
  containerLogPath(id: string): string {
    return containerLogPath(this.ctx, id);
  }
  async containerCopyTo(o: Parameters<typeof copyToContainer>[1]) {
    const { copyToContainer } = await import("./container-cp.ts");
    return copyToContainer(this.ctx, o);
  }
  async containerCopyFrom(o: Parameters<typeof copyFromContainer>[1]) {
    const { copyFromContainer } = await import("./container-cp.ts");
    return copyFromContainer(this.ctx, o);
  }
  async containerArchive(o: Parameters<typeof containerArchive>[1]) {
    const { containerArchive } = await import("./container-cp.ts");
    return containerArchive(this.ctx, o);
  }
  async containerExtract(o: Parameters<typeof containerExtract>[1]) {
    const { containerExtract } = await import("./container-cp.ts");
    return containerExtract(this.ctx, o);
  }
  async containerChanges(idOrName: string, o: { signal?: AbortSignal } = {}) {
    const { containerChanges } = await import("./container-diff.ts");
    return containerChanges(this.ctx, idOrName, o);
  }
  async containerCommit(o: ContainerCommitOptions) {
    const { containerCommit } = await import("./container-commit.ts");
    return containerCommit(this.ctx, o);
  }
  async containerExport(o: Parameters<typeof containerExport>[1]) {
    const { containerExport } = await import("./container-export.ts");
    return containerExport(this.ctx, o);
  }
  async containerTop(idOrName: string, o: { psArgs?: readonly string[]; signal?: AbortSignal } = {}) {
    const { containerTop } = await import("./container-top.ts");
    return containerTop(this.ctx, idOrName, o);
  }
  async containerStats(o: Parameters<typeof containerStats>[1]) {
    const { containerStats } = await import("./container-stats.ts");
    return containerStats(this.ctx, o);
  }
  async containerPrune(o: Parameters<typeof containerPrune>[1] = {}) {
    const { containerPrune } = await import("./container-prune.ts");
    return containerPrune(this.ctx, o);
  }
  async networkCreate(o: NetworkCreateOptions) {
    const { networkCreate } = await import("./network-create.ts");
    return networkCreate(this.ctx, o);
  }
  async networkInspect(nameOrId: string) {
    const { networkInspect } = await import("./network-inspect.ts");
    return networkInspect(this.ctx, nameOrId);
  }
  async networkList(o: { filters?: Record<string, string[]> } = {}) {
    const { networkList } = await import("./network-inspect.ts");
    return networkList(this.ctx, o);
  }
  async networkRemove(nameOrId: string) {
    const { networkRemove } = await import("./network-remove.ts");
    return networkRemove(this.ctx, nameOrId);
  }
  async networkPrune(o: { filters?: Record<string, string[]> } = {}) {
    const { networkPrune } = await import("./network-remove.ts");
    return networkPrune(this.ctx, o);
  }
  async networkConnect(o: { network: string; container: string; aliases?: string[]; ip?: string; signal?: AbortSignal }) {
    const { networkConnect } = await import("./network-connect.ts");
    return networkConnect(this.ctx, o);
  }
  async networkDisconnect(o: { network: string; container: string; force?: boolean }) {
    const { networkDisconnect } = await import("./network-connect.ts");
    return networkDisconnect(this.ctx, o);
  }
  async volumeCreate(o: VolumeCreateOptions = {}) {
    const { volumeCreate } = await import("./volume-create.ts");
    return volumeCreate(this.ctx, o);
  }
  async volumeInspect(name: string) {
    const { volumeInspect } = await import("./volume-create.ts");
    return volumeInspect(this.ctx, name);
  }
  async volumeList(o: { filters?: VolumeFilters } = {}) {
    const { volumeList } = await import("./volume-list.ts");
    return volumeList(this.ctx, o);
  }
  async volumeRemove(name: string, o: { force?: boolean } = {}) {
    const { volumeRemove } = await import("./volume-remove.ts");
    return volumeRemove(this.ctx, name, o);
  }
  async volumePrune(o: { all?: boolean; filters?: VolumeFilters } = {}) {
    const { volumePrune } = await import("./volume-remove.ts");
    return volumePrune(this.ctx, o);
  }
  async systemDf(o: { signal?: AbortSignal } = {}) {
    const { systemDf } = await import("./system-df.ts");
    return systemDf(this.ctx, o);
  }
  async builderPrune(o: { keepBytes?: number; signal?: AbortSignal } = {}) {
    const { builderPrune } = await import("./builder-prune.ts");
    return builderPrune(this.ctx, o);
  }
  async collectGarbage(o: { signal?: AbortSignal } = {}) {
    const { collectGarbage } = await import("./gc.ts");
    return collectGarbage(this.ctx, o);
  }
}

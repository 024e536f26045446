export type { TransferMethod } from './attempts.js';
export { classifyTransfer, type TransferReason, type TransferVerdict } from './classify.js';
export { remoteSha256, sha256File } from './hash.js';
export { TransferManager } from './manager.js';
export type { TransferManagerOptions } from './options.js';
export type { DownloadResult, FileResult, UploadResult } from './results.js';

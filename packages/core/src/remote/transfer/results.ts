import type { UpgradeKitError } from '../../errors/index.js';
import type { TransferMethod } from './attempts.js';

/** One file on one host. */
export interface FileResult {
  /** The base name, or the path inside an uploaded directory. */
  readonly path: string;
  readonly remotePath: string;
  readonly status: 'uploaded' | 'skipped' | 'failed';
  readonly size: number;
  readonly sha256: string;
  readonly method?: TransferMethod;
  /** Why SFTP was used when scp was wanted. */
  readonly fallback?: string;
  /** The verified prefix an interrupted upload continued from (bytes); absent when it started at 0. */
  readonly resumedFrom?: number;
  /** Bytes written to the host, all attempts together (a resumed upload sends less than `size`). */
  readonly bytesSent: number;
  readonly error?: UpgradeKitError;
}

/** One host: `failed` carries the error; no upload throws half-way through a host list. */
export interface UploadResult {
  readonly host: string;
  readonly port: number;
  readonly status: 'uploaded' | 'skipped' | 'failed';
  readonly files: readonly FileResult[];
  /** Total size of the files meant for the host. */
  readonly bytes: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly error?: UpgradeKitError;
}

export interface DownloadResult {
  readonly host: string;
  readonly remotePath: string;
  readonly localPath: string;
  readonly status: 'downloaded' | 'skipped' | 'failed';
  readonly size: number;
  readonly sha256?: string;
  readonly method?: TransferMethod;
  readonly fallback?: string;
  readonly durationMs: number;
  readonly error?: UpgradeKitError;
}

export { checkHostKey, type HostKeyCheck, type HostKeyOptions, type HostKeyPolicy } from './known-hosts.js';
export { remoteCommand } from './quote.js';
export type { ConnectionRole, RoleSettings } from './roles.js';
export { type ExecOptions, type ExecResult, SshSession, type SshSessionOptions } from './session.js';
export {
  type DownloadResult,
  type FileResult,
  TransferManager,
  type TransferManagerOptions,
  type TransferMethod,
  type TransferReason,
  type TransferVerdict,
  type UploadResult,
} from './transfer/index.js';

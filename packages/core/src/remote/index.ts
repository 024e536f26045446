export {
  checkHostKey,
  type HostKeyCheck,
  type HostKeyOptions,
  type HostKeyPolicy,
  knownHostKeyAlgorithms,
} from './known-hosts.js';
export { remoteCommand } from './quote.js';
export { type ConnectionRole, ROLE_DEFAULTS, type RoleSettings } from './roles.js';
export { type ExecOptions, type ExecResult, SshSession, type SshSessionOptions } from './session.js';
export {
  classifyTransfer,
  type DownloadResult,
  type FileResult,
  remoteSha256,
  sha256File,
  TransferManager,
  type TransferManagerOptions,
  type TransferMethod,
  type TransferReason,
  type TransferVerdict,
  type UploadResult,
} from './transfer/index.js';

export { checkHostKey, type HostKeyCheck, type HostKeyOptions, type HostKeyPolicy } from './known-hosts.js';
export { remoteCommand } from './quote.js';
export { type ConnectionRole, ROLE_DEFAULTS, type RoleSettings } from './roles.js';
export { type ExecOptions, type ExecResult, SshSession, type SshSessionOptions } from './session.js';
export {
  remoteSha256,
  sha256File,
  TransferManager,
  type TransferManagerOptions,
  type TransferMethod,
  type UploadResult,
} from './transfer.js';

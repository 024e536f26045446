export type { Classification, Classifier, FailureReason } from './classify.js';
export { classifyError } from './classify.js';
export type { ResourceSnapshot } from './diagnostics.js';
export { type AttemptRecord, type RetryPolicy, retry, UpgradeKitRetryError } from './retry.js';
export {
  type TimeoutCategory,
  type TimeoutDetails,
  UpgradeKitTimeoutError,
  type WithTimeoutOptions,
  withTimeout,
} from './timeout.js';

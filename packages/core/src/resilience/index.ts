export {
  type Classification,
  type Classifier,
  classifyError,
  errorChain,
  type FailureReason,
} from './classify.js';
export { formatResources, type ResourceSnapshot, sampleResources } from './diagnostics.js';
export { type AttemptRecord, backoffDelay, type RetryPolicy, retry, UpgradeKitRetryError } from './retry.js';
export {
  categorize,
  type TimeoutCategory,
  type TimeoutDetails,
  UpgradeKitTimeoutError,
  type WithTimeoutOptions,
  withTimeout,
} from './timeout.js';

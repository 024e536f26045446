export { BlueGreen, type BlueGreenOptions, type SwitchResult } from './blue-green.js';
export {
  type RolloutHostState,
  type RolloutIdentity,
  resolveRolloutHost,
  rolloutStatus,
} from './host-state.js';
export type { RolloutHost } from './order.js';
export { rollout } from './rollout.js';
export { type BatchSize, planBatches, type Serial } from './serial.js';
export { type RolloutStepOptions, rolloutStep } from './step.js';
export type {
  BatchReport,
  BatchStatus,
  HealthGate,
  HostConnection,
  HostContext,
  HostReport,
  HostStatus,
  RolloutOptions,
  RolloutResult,
  RolloutStatus,
} from './types.js';

export type { LogRecord, RunRecord, RunStatus, StepKey, StepRecord, StepStatus } from '../model/index.js';

import type { StepKey } from '../model/index.js';

export function stepKeyString(key: Pick<StepKey, 'host' | 'taskVersion' | 'taskId'>): string {
  return `${key.host}\u0000${key.taskVersion}\u0000${key.taskId}`;
}

export { type DeregisterOptions, deregister } from './deregister.js';
export {
  type HealthCheck,
  type HealthResult,
  type ProbeResult,
  probeHealth,
  type WaitHealthyOptions,
  waitHealthy,
} from './health.js';
export { type PortListener, portListeners } from './port.js';
export type { GroupStop, ProcessGroup } from './process-group.js';
export { type CommandRunner, localRunner } from './runner.js';
export { type StartResult, type StartServiceOptions, startService } from './start.js';
export { type StopResult, type StopServiceOptions, stopService } from './stop.js';

export { createTestDatabase, type TestDatabase } from './databases.js';
export { FaultProxy, type Faults, type ProxyStats, silentServer } from './fault-proxy.js';
export { freePort } from './free-port.js';
export { requireService, type ServiceName, settings } from './services.js';
export {
  type ClientKey,
  createClientKey,
  type SshdHost,
  sshArgs,
  startSshd,
  startSshdHosts,
} from './sshd.js';

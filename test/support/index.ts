export { createMariaDbUser, createTestDatabase, type TestDatabase } from './databases.js';
export { type DumpFixture, dumpFixture, dumpFixtures, fixtureFiles, requireDump } from './dumps.js';
export { FaultProxy, type Faults, type ProxyStats, silentServer } from './fault-proxy.js';
export { freePort } from './free-port.js';
export {
  DATABASE_PLACEHOLDER,
  diffSnapshots,
  loadWithClient,
  type ObjectProps,
  type OracleEngine,
  type Snapshot,
  type SnapshotOptions,
  snapshot,
  type TableData,
  withoutBodyComments,
} from './oracle.js';
export { dumpRelease, upgradekitRun } from './oracle-run.js';
export { requireService, type ServiceName, settings } from './services.js';
export {
  type ClientKey,
  createClientKey,
  type SshdHost,
  sshArgs,
  startSshd,
  startSshdHosts,
} from './sshd.js';

export { createMariaDbUser, createTestDatabase, type TestDatabase } from './databases.js';
export { type DumpFixture, dumpFixture, dumpFixtures, fixtureFiles, requireDump } from './dumps.js';
export { FaultProxy, type Faults, type ProxyStats, silentServer } from './fault-proxy.js';
export {
  type Engine,
  emptyPlan,
  engines,
  type FileSshHost,
  type FixtureDatabase,
  type Fixtures,
  sqliteKnex,
  sshHostForFile,
  suiteDatabase,
  suiteMariaDbAccount,
  test,
  writeFiles,
} from './fixtures.js';
export { freePort } from './free-port.js';
export { LEDGER_RELEASE, type SiteYamlOptions, siteYaml } from './ledger.js';
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
export { type NodeRun, runNode } from './processes.js';
export { requireService, type ServiceName, settings } from './services.js';
export { type Spawned, spawnAsync } from './spawn.js';
export {
  type ClientKey,
  createClientKey,
  type SshdHost,
  type StartSshdOptions,
  sessionOptions,
  sshArgs,
  startSshd,
  startSshdHosts,
} from './sshd.js';
export { BOOT, type CrashedStep, leaveCrashedStep, NS, SELF, withStore } from './state.js';

// What every rollback command shares: the host, the history and its serialised writes, the log,
// the lock, and the result it reports. The commands (rollback.ts) and the step runner
// (rollback-run.ts) both work through it.
import { posix } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { EventBus } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import {
  type RollbackMode,
  type RollbackRecord,
  type RollbackStepState,
  type RollbackType,
  SiteLock,
} from '../state/index.js';
import { RollbackHistory } from '../state/internal.js';
import { type KeptCopy, keptCopies } from './asides.js';
import { countdown } from './countdown.js';
import { hostFor } from './create.js';
import { type ValidDatabaseSpec, validateSpecs } from './databases.js';
import type { BackupHost } from './host.js';
import { assertBackupId } from './ids.js';
import type { BackupManifest, DatabaseBackupFile } from './manifest.js';
import type { RestoreTarget } from './restore.js';
import { type BackupScope, manifestQuietly } from './rollback-backup.js';
import type { ValidRollbackOptions } from './rollback-options.js';
import { databasesOf } from './rollback-steps.js';
import {
  nextStepOf,
  pendingSteps,
  type RollbackOutcome,
  type RollbackResult,
  type RollbackStartOptions,
  stepReports,
} from './rollback-types.js';

export type LogLevel = 'info' | 'warn' | 'error';

export class RollbackContext {
  readonly options: ValidRollbackOptions;
  readonly host: BackupHost;
  readonly history: RollbackHistory;
  readonly events: EventSink;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: ValidRollbackOptions) {
    this.options = options;
    this.host = hostFor(options);
    this.history = new RollbackHistory(options.state);
    this.events = options.events ?? nullSink;
    for (const spec of options.databases)
      if (spec.password && this.events instanceof EventBus) this.events.addSecret(spec.password);
    // Credentials are checked now, not when step 2 runs.
    validateSpecs(options.databases, this.host);
  }

  /** Where the backups are and whose they must be, for rollback-backup.ts. */
  get scope(): BackupScope {
    const { root, component, site, programDir } = this.options;
    return { host: this.host, root, component, site, programDir };
  }

  log(level: LogLevel, message: string): void {
    this.events.emit({
      type: 'log',
      level,
      step: 'rollback',
      message,
      ...(this.host.remote ? { host: this.host.name } : {}),
    });
  }

  /** Serialised: the three parallel restores write the same history row. */
  setStep(record: RollbackRecord, n: number, patch: Partial<RollbackStepState>): Promise<unknown> {
    const write = this.#writes.then(() =>
      this.history.setStep(record.component, record.site, record.rollbackId, n, patch),
    );
    this.#writes = write.catch(() => {});
    return write;
  }

  async reload(record: RollbackRecord): Promise<RollbackRecord> {
    await this.#writes;
    return (await this.history.get(record.component, record.site, record.rollbackId)) ?? record;
  }

  /** Full or compatible: the caller's flag, or its judgement of this backup's upgrade (logged with why). */
  mode(start: RollbackStartOptions, manifest: BackupManifest): RollbackMode {
    if (typeof start.compatible !== 'function') return start.compatible ? 'compatible' : 'full';
    const choice = start.compatible(manifest);
    const mode: RollbackMode = choice.compatible ? 'compatible' : 'full';
    this.log('info', `${mode} rollback: ${choice.reason}`);
    return mode;
  }

  databases(manifest: BackupManifest): { entry: DatabaseBackupFile; spec: ValidDatabaseSpec }[] {
    return databasesOf(manifest, validateSpecs(this.options.databases, this.host));
  }

  target(record: RollbackRecord, manifest: BackupManifest): RestoreTarget {
    return {
      host: this.host,
      dir: posix.join(this.options.root, assertBackupId(record.backupId)),
      manifest,
      rollbackId: record.rollbackId,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    };
  }

  newRecord(backupId: string, manifest: BackupManifest, type: RollbackType, mode: RollbackMode) {
    return {
      component: this.options.component,
      site: this.options.site,
      host: this.host.name,
      backupId,
      fromVersion: manifest.version_to,
      toVersion: manifest.version_from,
      type,
      mode,
      steps: pendingSteps(),
    };
  }

  /** The pre-rollback copies the rollback keeps now (none when its manifest cannot be read). */
  async kept(record: RollbackRecord): Promise<KeptCopy[]> {
    const manifest = await manifestQuietly(this.host, this.options.root, record.backupId);
    return manifest ? keptCopies(this.host, record, manifest) : [];
  }

  async countdown(what: string): Promise<void> {
    const { yes, countdownMs, signal } = this.options;
    const ci = this.options.ci ?? process.env.CI === 'true';
    if (yes || ci) return;
    await countdown(countdownMs, what, this.events, signal);
  }

  async requireOpen(): Promise<RollbackRecord> {
    const open = await this.history.unfinished(this.options.component, this.options.site);
    if (!open) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `no rollback of ${this.options.component} is in progress; start one with \`rollback manual <backupId|latest>\``,
      );
    }
    return open;
  }

  async needsDecision(open: RollbackRecord, began: number): Promise<RollbackResult> {
    const next = nextStepOf(open);
    return this.result(open, 'needs-decision', began, false, {
      message: `${open.type} rollback ${open.rollbackId} to backup ${open.backupId} is unfinished (${open.status}, next step ${next}). Continue it (\`rollback step ${next}\`, \`rollback auto-continue-from ${next}\`${open.type === 'auto' ? `, \`rollback auto ${open.backupId}\`` : ''}) or abandon it before starting another.`,
    });
  }

  async result(
    record: RollbackRecord,
    status: RollbackOutcome,
    began: number,
    continued: boolean,
    extra: { message: string; error?: UpgradeKitError },
  ): Promise<RollbackResult> {
    const kept = await this.kept(record);
    const next = nextStepOf(record);
    return {
      status,
      rollbackId: record.rollbackId,
      backupId: record.backupId,
      type: record.type,
      mode: record.mode,
      continued,
      steps: stepReports(record),
      ...(next && status !== 'completed' ? { nextStep: next } : {}),
      asides: asidePaths(kept),
      kept,
      message: extra.message,
      durationMs: performance.now() - began,
      ...(extra.error ? { error: extra.error } : {}),
    };
  }

  async locked<T>(work: () => Promise<T>): Promise<T> {
    const { state, component, site } = this.options;
    const lock = await SiteLock.acquire(state, {
      component,
      site,
      runId: `rollback-${process.pid}-${Date.now()}`,
      events: this.events,
    });
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }
}

export function asidePaths(kept: readonly KeptCopy[]): string[] {
  return kept.filter((k) => k.kind === 'path').map((k) => k.aside);
}

export function assertStep(step: number): void {
  if (!Number.isInteger(step) || step < 1 || step > 6) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `rollback step must be 1 to 6 (got ${JSON.stringify(step)})`,
    );
  }
}

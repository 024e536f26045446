import { posix } from 'node:path';
import { z } from 'zod';
import { describeError, ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { EventBus, nullSink } from '../events/index.js';
import { validateOptions } from '../options/index.js';
import type { SshSession } from '../remote/index.js';
import {
  RollbackHistory,
  type RollbackMode,
  type RollbackRecord,
  type RollbackStepState,
  type RollbackType,
  SiteLock,
  StateStore,
} from '../state/index.js';
import { type KeptCopy, keptCopies } from './asides.js';
import { countdown } from './countdown.js';
import { hostFor } from './create.js';
import { type DatabaseSpec, type ValidDatabaseSpec, validateSpecs } from './databases.js';
import type { BackupHost } from './host.js';
import { assertBackupId } from './ids.js';
import { type BackupSummary, listBackups } from './list.js';
import { type BackupManifest, type DatabaseBackupFile, MANIFEST_FILE, parseManifest } from './manifest.js';
import { reopenUndoneSteps } from './reopen.js';
import type { RestoreTarget } from './restore.js';
import { databasesOf, performStep } from './rollback-steps.js';
import {
  DONE,
  nextStepOf,
  pendingSteps,
  ROLLBACK_STEPS,
  type RollbackHook,
  type RollbackOutcome,
  type RollbackResult,
  type RollbackStartOptions,
  type RollbackStatusReport,
  stepReports,
} from './rollback-types.js';
import { describeProblems, verifyBackup } from './verify.js';

const fn = z.custom<RollbackHook>((v) => typeof v === 'function', 'must be a function');

export const rollbackOptionsSchema = z
  .object({
    state: z.custom<StateStore>((v) => v instanceof StateStore, 'must be an open StateStore'),
    component: z.string().min(1),
    site: z.string().default(''),
    /** The directory holding `backup_<timestamp>/` (on `host` when remote). */
    root: z.string().refine((p) => posix.isAbsolute(p), 'must be an absolute path'),
    host: z.custom<BackupHost>((v) => typeof (v as BackupHost)?.run === 'function').optional(),
    session: z.custom<SshSession>((v) => typeof (v as SshSession)?.exec === 'function').optional(),
    /** Credentials for restoring, matched to the backup's databases by engine and name. */
    databases: z.array(z.custom<DatabaseSpec>()).default([]),
    /** When given, the backup's program directory must be this one. */
    programDir: z
      .string()
      .refine((p) => posix.isAbsolute(p), 'must be an absolute path')
      .optional(),
    hooks: z.object({ stopServices: fn, startServices: fn, verify: fn }).partial().default({}),
    events: z.custom<EventSink>((v) => typeof (v as EventSink)?.emit === 'function').optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
    /** Seed 004 §4.4.2.1's confirmation countdown; skipped with `yes` or under CI. Default 5000. */
    countdownMs: z.number().int().nonnegative().default(5000),
    yes: z.boolean().default(false),
    /** Default: `process.env.CI === 'true'`. */
    ci: z.boolean().optional(),
    /** Restore database, program directory and config at once (default) or one after another. */
    parallel: z.boolean().default(true),
  })
  .strict();

export type RollbackOptions = z.input<typeof rollbackOptionsSchema>;

/**
 * Rollback to a verified backup (seed 004 §4.4.2–4.4.3): one-click (`auto`) with a cancellable
 * countdown and the three restores in parallel, or step by step (`manual`, `step`, `status`,
 * `autoContinueFrom`). Every rollback and each of its steps is in the state store's history; an
 * interrupted one is found and continued. Nothing is destroyed before the restore verifies: what
 * is there is renamed aside and removed at step 6.
 *
 * @example
 * const rollback = new Rollback({ state, component: 'app', site: 'site-1', root: '/backup',
 *   databases: [{ engine: 'mariadb', database: 'app', host: 'db1', user: 'root', password }],
 *   hooks: { stopServices: () => systemctl('stop'), startServices: () => systemctl('start') } });
 * const result = await rollback.auto('latest', { compatible: false });
 * if (result.status !== 'completed') console.error(result.message);
 */
export class Rollback {
  readonly #options: z.output<typeof rollbackOptionsSchema>;
  readonly #host: BackupHost;
  readonly #history: RollbackHistory;
  readonly #events: EventSink;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: RollbackOptions) {
    this.#options = validateOptions('Rollback', rollbackOptionsSchema, options);
    this.#host = hostFor(this.#options);
    this.#history = new RollbackHistory(this.#options.state);
    this.#events = this.#options.events ?? nullSink;
    for (const spec of this.#options.databases)
      if (spec.password && this.#events instanceof EventBus) this.#events.addSecret(spec.password);
    // Credentials are checked now, not when step 2 runs.
    validateSpecs(this.#options.databases, this.#host);
  }

  /** `rollback list`: the backups (newest first) and the rollback history. */
  async list(): Promise<{ backups: BackupSummary[]; history: RollbackRecord[] }> {
    const { component, site, root } = this.#options;
    const backups = (await listBackups(this.#host, root)).filter(
      (b) => b.status !== 'ready' || (b.component === component && b.site === site),
    );
    return { backups, history: await this.#history.list(component, site) };
  }

  /** `rollback status`: where the unfinished (or the latest) rollback stands. */
  async status(): Promise<RollbackStatusReport> {
    const { component, site } = this.#options;
    const open = await this.#history.unfinished(component, site);
    const record = open ?? (await this.#history.list(component, site, 1))[0];
    const kept = record ? await this.#kept(record) : [];
    const next = open ? nextStepOf(open) : undefined;
    return {
      ...(record ? { rollback: record } : {}),
      unfinished: open !== undefined,
      ...(next ? { nextStep: next } : {}),
      steps: stepReports(record),
      asides: asidePaths(kept),
      kept,
    };
  }

  /**
   * `rollback auto <backupId|latest>`: verify, count down, stop, restore all three at once, start,
   * verify. An interrupted automatic rollback is continued where it stopped.
   */
  async auto(backupId = 'latest', start: RollbackStartOptions = {}): Promise<RollbackResult> {
    const began = performance.now();
    return this.#locked(async () => {
      const { component, site } = this.#options;
      const open = await this.#history.unfinished(component, site);
      if (open) {
        if (open.type === 'manual' || (backupId !== 'latest' && backupId !== open.backupId)) {
          return this.#needsDecision(open, began);
        }
        const manifest = await this.#verified(open.backupId);
        this.#log(
          'warn',
          `continuing interrupted rollback ${open.rollbackId} (to backup ${open.backupId}) from step ${nextStepOf(open)}`,
        );
        await this.#countdown(`continuing rollback ${open.rollbackId}`);
        await this.#history.finish(component, site, open.rollbackId, 'running');
        return this.#runFrom(open, manifest, nextStepOf(open) ?? 6, true, began);
      }
      const { backupId: id, manifest } = await this.#resolve(backupId);
      const mode = this.#mode(start, manifest);
      try {
        await this.#countdown(`${mode} rollback of ${component} to ${manifest.version_from} (backup ${id})`);
      } catch (error) {
        const record = await this.#history.start(this.#newRecord(id, manifest, 'auto', mode));
        await this.#history.finish(
          component,
          site,
          record.rollbackId,
          'cancelled',
          describeError(error).message,
        );
        return this.#result(await this.#reload(record), 'cancelled', began, false, {
          error: error as UpgradeKitError,
          message: `rollback ${record.rollbackId} cancelled during the countdown; nothing was changed`,
        });
      }
      const record = await this.#history.start(this.#newRecord(id, manifest, 'auto', mode));
      this.#log(
        'info',
        `rollback ${record.rollbackId}: ${mode} rollback to backup ${id} (${manifest.version_to} → ${manifest.version_from})`,
      );
      return this.#runFrom(record, manifest, 1, false, began);
    });
  }

  /** `rollback manual <backupId|latest>`: verifies the backup and opens a rollback to run step by step. */
  async manual(backupId = 'latest', start: RollbackStartOptions = {}): Promise<RollbackResult> {
    const began = performance.now();
    return this.#locked(async () => {
      const open = await this.#history.unfinished(this.#options.component, this.#options.site);
      if (open) return this.#needsDecision(open, began);
      const { backupId: id, manifest } = await this.#resolve(backupId);
      const mode = this.#mode(start, manifest);
      const record = await this.#history.start(this.#newRecord(id, manifest, 'manual', mode));
      return this.#result(record, 'in-progress', began, false, {
        message: `manual ${mode} rollback ${record.rollbackId} to backup ${id} is ready: run step 1 (${ROLLBACK_STEPS[0].name})`,
      });
    });
  }

  /** `rollback step N`: runs one step of the unfinished rollback; the steps before it must be done. */
  async step(step: number): Promise<RollbackResult> {
    const began = performance.now();
    this.#assertStep(step);
    return this.#locked(async () => {
      const open = await this.#requireOpen();
      const blocking = ROLLBACK_STEPS.find(
        (s) => s.step < step && !DONE.has(open.steps[s.step]?.status ?? 'pending'),
      );
      if (blocking) {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `rollback ${open.rollbackId}: step ${step} needs step ${blocking.step} (${blocking.name}) first; it is ${open.steps[blocking.step]?.status ?? 'pending'}. Run \`rollback step ${blocking.step}\`, or \`rollback auto-continue-from ${step}\` to skip the steps before it.`,
          { context: { rollbackId: open.rollbackId, step, blocking: blocking.step } },
        );
      }
      if (DONE.has(open.steps[step]?.status ?? 'pending')) {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `rollback ${open.rollbackId}: step ${step} is already ${open.steps[step]!.status}; the next step is ${nextStepOf(open)}`,
          { context: { rollbackId: open.rollbackId, step } },
        );
      }
      // The restores read the backup: verify it in full right before. The other steps only need
      // to know what it holds.
      const manifest =
        step >= 2 && step <= 4 ? await this.#verified(open.backupId) : await this.#manifest(open.backupId);
      await this.#history.finish(open.component, open.site, open.rollbackId, 'running');
      return this.#runSteps(open, manifest, [[step]], false, began);
    });
  }

  /**
   * `rollback auto-continue-from N`: runs step N and all after it automatically. Steps before N
   * that are not done are recorded as skipped by the operator (done by hand).
   */
  async autoContinueFrom(step: number): Promise<RollbackResult> {
    const began = performance.now();
    this.#assertStep(step);
    return this.#locked(async () => {
      const open = await this.#requireOpen();
      const manifest = await this.#verified(open.backupId);
      for (const { step: n } of ROLLBACK_STEPS) {
        if (n >= step || DONE.has(open.steps[n]?.status ?? 'pending')) continue;
        this.#log(
          'warn',
          `rollback ${open.rollbackId}: step ${n} marked skipped by the operator (auto-continue-from ${step})`,
        );
        await this.#setStep(open, n, {
          status: 'skipped',
          reason: `skipped by the operator (auto-continue-from ${step})`,
        });
      }
      await this.#history.finish(open.component, open.site, open.rollbackId, 'running');
      return this.#runFrom(await this.#reload(open), manifest, step, true, began);
    });
  }

  /** Gives up the unfinished rollback; its pre-rollback copies stay for the operator to inspect. */
  async abandon(): Promise<RollbackResult> {
    const began = performance.now();
    return this.#locked(async () => {
      const open = await this.#requireOpen();
      await this.#history.finish(
        open.component,
        open.site,
        open.rollbackId,
        'abandoned',
        'abandoned by the operator',
      );
      const record = await this.#reload(open);
      // What was restored before giving up is restored: those upgrade steps must run again too.
      const restored = [2, 3, 4].some((n) => open.steps[n]?.status === 'succeeded');
      if (restored) {
        const mode = open.steps[2]?.status === 'succeeded' ? 'full' : 'compatible';
        const { reopened } = await reopenUndoneSteps(this.#options.state, { ...record, mode });
        if (reopened.length > 0)
          this.#log(
            'info',
            `${reopened.length} upgrade step(s) undone by the restores so far are pending again`,
          );
      }
      return this.#result(record, 'abandoned', began, false, {
        message: `rollback ${open.rollbackId} abandoned; pre-rollback copies (if any) were left in place`,
      });
    });
  }

  // ---------------------------------------------------------------- running

  async #runFrom(
    record: RollbackRecord,
    manifest: BackupManifest,
    from: number,
    continued: boolean,
    began: number,
  ): Promise<RollbackResult> {
    const groups = this.#options.parallel ? [[1], [2, 3, 4], [5], [6]] : [[1], [2], [3], [4], [5], [6]];
    const todo = groups
      .map((g) => g.filter((n) => n >= from && !DONE.has(record.steps[n]?.status ?? 'pending')))
      .filter((g) => g.length > 0);
    return this.#runSteps(record, manifest, todo, continued, began);
  }

  async #runSteps(
    record: RollbackRecord,
    manifest: BackupManifest,
    groups: number[][],
    continued: boolean,
    began: number,
  ): Promise<RollbackResult> {
    const { component, site } = record;
    this.#events.emit({ type: 'stage.start', stage: 'rollback' });
    let failure: UpgradeKitError | undefined;
    for (const group of groups) {
      // All of a group are recorded as running before any starts work: `status` shows them together.
      const before = await this.#reload(record);
      const started = await Promise.all(group.map((n) => this.#begin(record, n)));
      const outcomes = await Promise.all(
        group.map((n, i) => this.#runStep(before, manifest, n, started[i]!, before.steps[n]?.progress)),
      );
      failure = outcomes.find((o) => o !== undefined);
      if (failure) break;
    }
    const latest = await this.#reload(record);
    const complete = nextStepOf(latest) === undefined;
    if (failure) {
      await this.#history.finish(component, site, record.rollbackId, 'failed', failure.message);
    } else if (complete) {
      const { reopened, unknown } = await reopenUndoneSteps(this.#options.state, latest);
      if (reopened.length > 0) {
        this.#log(
          'info',
          `${reopened.length} upgrade step(s) the rollback undid are pending again: the next upgrade runs them (${reopened.map((s) => s.taskId).join(', ')})`,
        );
      }
      if (unknown.length > 0) {
        this.#log(
          'warn',
          `the data was kept, and these steps were recorded before upgradekit knew whether they change data, so they stay done: ${unknown.map((s) => s.taskId).join(', ')}; \`upgradekit resolve <step> --retry\` runs one again`,
        );
      }
      await this.#history.finish(component, site, record.rollbackId, 'completed');
    }
    const final = await this.#reload(record);
    const status: RollbackOutcome = failure ? 'failed' : complete ? 'completed' : 'in-progress';
    this.#events.emit({
      type: 'stage.end',
      stage: 'rollback',
      status: failure ? 'failed' : 'succeeded',
      durationMs: performance.now() - began,
      ...(failure ? { error: { message: failure.message, code: failure.code } } : {}),
    });
    const next = nextStepOf(final);
    const message = failure
      ? `rollback ${record.rollbackId} stopped at step ${next}: ${failure.message}. Fix the cause, then \`rollback ${record.type === 'manual' ? `step ${next}` : 'auto'}\` continues from there (\`rollback status\` shows what is kept aside, and where).`
      : complete
        ? `${record.mode} rollback ${record.rollbackId} to ${record.toVersion} (backup ${record.backupId}) completed${record.mode === 'compatible' ? '; the data was kept (compatible rollback)' : ''}`
        : `rollback ${record.rollbackId}: done through step ${(next ?? 7) - 1}; next is step ${next}`;
    this.#log(failure ? 'error' : 'info', message);
    return this.#result(final, status, began, continued, { message, ...(failure ? { error: failure } : {}) });
  }

  /** Runs one step, recording start and end; resolves with its error instead of throwing. */
  async #begin(record: RollbackRecord, n: number): Promise<number> {
    const startedAt = Date.now();
    await this.#setStep(record, n, { status: 'running', startedAt });
    this.#events.emit({ type: 'step.start', stage: 'rollback', step: ROLLBACK_STEPS[n - 1]!.id });
    return startedAt;
  }

  async #runStep(
    record: RollbackRecord,
    manifest: BackupManifest,
    n: number,
    startedAt: number,
    progress: string | undefined,
  ): Promise<UpgradeKitError | undefined> {
    const meta = ROLLBACK_STEPS[n - 1]!;
    try {
      const skipped = await performStep({
        record,
        manifest,
        step: n,
        progress,
        target: this.#target(record, manifest),
        hooks: this.#options.hooks,
        databases: () => this.#databases(manifest),
        saveProgress: (value) => this.#setStep(record, n, { progress: value }),
        log: (message) => this.#log('info', message),
        events: this.#events,
        ...(this.#options.signal ? { signal: this.#options.signal } : {}),
      });
      const endedAt = Date.now();
      await this.#setStep(record, n, {
        status: skipped ? 'skipped' : 'succeeded',
        endedAt,
        ...(skipped ? { reason: skipped } : {}),
      });
      this.#events.emit({
        type: 'step.end',
        stage: 'rollback',
        step: meta.id,
        status: skipped ? 'skipped' : 'succeeded',
        durationMs: endedAt - startedAt,
      });
      return undefined;
    } catch (cause) {
      const error =
        isUpgradeKitError(cause) && cause.code !== ErrorCodes.STEP_FAILED
          ? cause
          : new UpgradeKitError(
              ErrorCodes.ROLLBACK_FAILED,
              `step ${n} (${meta.name}) failed: ${describeError(cause).message}`,
              { cause, context: { rollbackId: record.rollbackId, step: n } },
            );
      const endedAt = Date.now();
      await this.#setStep(record, n, { status: 'failed', endedAt, error: error.message });
      this.#events.emit({
        type: 'step.end',
        stage: 'rollback',
        step: meta.id,
        status: 'failed',
        durationMs: endedAt - startedAt,
        error: { message: error.message, code: error.code },
      });
      return error;
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Full or compatible: the caller's flag, or its judgement of this backup's upgrade (logged with why). */
  #mode(start: RollbackStartOptions, manifest: BackupManifest): RollbackMode {
    if (typeof start.compatible !== 'function') return start.compatible ? 'compatible' : 'full';
    const choice = start.compatible(manifest);
    const mode: RollbackMode = choice.compatible ? 'compatible' : 'full';
    this.#log('info', `${mode} rollback: ${choice.reason}`);
    return mode;
  }

  #databases(manifest: BackupManifest): { entry: DatabaseBackupFile; spec: ValidDatabaseSpec }[] {
    return databasesOf(manifest, validateSpecs(this.#options.databases, this.#host));
  }

  #target(record: RollbackRecord, manifest: BackupManifest): RestoreTarget {
    return {
      host: this.#host,
      dir: posix.join(this.#options.root, assertBackupId(record.backupId)),
      manifest,
      rollbackId: record.rollbackId,
      ...(this.#options.signal ? { signal: this.#options.signal } : {}),
    };
  }

  #newRecord(backupId: string, manifest: BackupManifest, type: RollbackType, mode: RollbackMode) {
    return {
      component: this.#options.component,
      site: this.#options.site,
      host: this.#host.name,
      backupId,
      fromVersion: manifest.version_to,
      toVersion: manifest.version_from,
      type,
      mode,
      steps: pendingSteps(),
    };
  }

  /** Serialised: the three parallel restores write the same history row. */
  #setStep(record: RollbackRecord, n: number, patch: Partial<RollbackStepState>): Promise<unknown> {
    const write = this.#writes.then(() =>
      this.#history.setStep(record.component, record.site, record.rollbackId, n, patch),
    );
    this.#writes = write.catch(() => {});
    return write;
  }

  async #reload(record: RollbackRecord): Promise<RollbackRecord> {
    await this.#writes;
    return (await this.#history.get(record.component, record.site, record.rollbackId)) ?? record;
  }

  /** Resolves `latest` or an id to a backup of this component and site that verifies in full. */
  async #resolve(backupId: string): Promise<{ backupId: string; manifest: BackupManifest }> {
    const { component, site, root } = this.#options;
    let id = backupId;
    if (backupId === 'latest') {
      const latest = (await listBackups(this.#host, root)).find(
        (b) => b.status === 'ready' && b.component === component && b.site === site,
      );
      if (!latest) {
        throw new UpgradeKitError(
          ErrorCodes.BAD_INPUT,
          `there is no complete backup of ${component}${site ? ` (site ${site})` : ''} under ${root} on ${this.#host.name}; \`rollback list\` shows what there is`,
          { context: { component, site, root } },
        );
      }
      id = latest.backupId;
    }
    assertBackupId(id);
    const manifest = await this.#verified(id);
    if (manifest.component !== component || manifest.site !== site) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `backup ${id} belongs to ${manifest.component}${manifest.site ? ` (site ${manifest.site})` : ''}, not to ${component}${site ? ` (site ${site})` : ''}`,
        { context: { backupId: id } },
      );
    }
    const program = Object.values(manifest.backup_files).find((e) => e.kind === 'program_directory');
    if (
      this.#options.programDir &&
      program?.kind === 'program_directory' &&
      program.source_path !== this.#options.programDir
    ) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `backup ${id} holds ${program.source_path}, but this rollback is for ${this.#options.programDir}`,
        { context: { backupId: id } },
      );
    }
    return { backupId: id, manifest };
  }

  /** The backup's manifest after full verification; `UPGRADEKIT_BACKUP_INVALID` listing every problem. */
  async #verified(backupId: string): Promise<BackupManifest> {
    const result = await verifyBackup(this.#host, this.#options.root, backupId);
    if (!result.ok || !result.manifest) {
      throw new UpgradeKitError(
        ErrorCodes.BACKUP_INVALID,
        `backup ${backupId} on ${this.#host.name} cannot be used for a rollback: ${describeProblems(result)}`,
        { context: { backupId, problems: result.problems } },
      );
    }
    return result.manifest;
  }

  /** The manifest, parsed but not checked against the files: for steps that read no backup file. */
  async #manifest(backupId: string): Promise<BackupManifest> {
    const manifest = await this.#manifestQuietly(backupId);
    if (manifest) return manifest;
    return this.#verified(backupId); // throws, naming what is wrong
  }

  /** The manifest as it stands, unverified: for reports, never for restoring. */
  async #manifestQuietly(backupId: string): Promise<BackupManifest | undefined> {
    const path = posix.join(this.#options.root, assertBackupId(backupId), MANIFEST_FILE);
    try {
      return parseManifest(await this.#host.readText(path), path);
    } catch {
      return undefined;
    }
  }

  /** The pre-rollback copies the rollback keeps now (none when its manifest cannot be read). */
  async #kept(record: RollbackRecord): Promise<KeptCopy[]> {
    const manifest = await this.#manifestQuietly(record.backupId);
    return manifest ? keptCopies(this.#host, record, manifest) : [];
  }

  async #countdown(what: string): Promise<void> {
    const { yes, countdownMs, signal } = this.#options;
    const ci = this.#options.ci ?? process.env.CI === 'true';
    if (yes || ci) return;
    await countdown(countdownMs, what, this.#events, signal);
  }

  #assertStep(step: number): void {
    if (!Number.isInteger(step) || step < 1 || step > 6) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `rollback step must be 1 to 6 (got ${JSON.stringify(step)})`,
      );
    }
  }

  async #requireOpen(): Promise<RollbackRecord> {
    const open = await this.#history.unfinished(this.#options.component, this.#options.site);
    if (!open) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `no rollback of ${this.#options.component} is in progress; start one with \`rollback manual <backupId|latest>\``,
      );
    }
    return open;
  }

  async #needsDecision(open: RollbackRecord, began: number): Promise<RollbackResult> {
    const next = nextStepOf(open);
    return this.#result(open, 'needs-decision', began, false, {
      message: `${open.type} rollback ${open.rollbackId} to backup ${open.backupId} is unfinished (${open.status}, next step ${next}). Continue it (\`rollback step ${next}\`, \`rollback auto-continue-from ${next}\`${open.type === 'auto' ? `, \`rollback auto ${open.backupId}\`` : ''}) or abandon it before starting another.`,
    });
  }

  async #result(
    record: RollbackRecord,
    status: RollbackOutcome,
    began: number,
    continued: boolean,
    extra: { message: string; error?: UpgradeKitError },
  ): Promise<RollbackResult> {
    const kept = await this.#kept(record);
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

  async #locked<T>(work: () => Promise<T>): Promise<T> {
    const { state, component, site } = this.#options;
    const lock = await SiteLock.acquire(state, {
      component,
      site,
      runId: `rollback-${process.pid}-${Date.now()}`,
      events: this.#events,
    });
    try {
      return await work();
    } finally {
      await lock.release();
    }
  }

  #log(level: 'info' | 'warn' | 'error', message: string): void {
    this.#events.emit({
      type: 'log',
      level,
      step: 'rollback',
      message,
      ...(this.#host.remote ? { host: this.#host.name } : {}),
    });
  }
}

function asidePaths(kept: readonly KeptCopy[]): string[] {
  return kept.filter((k) => k.kind === 'path').map((k) => k.aside);
}

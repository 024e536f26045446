import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import { validateOptions } from '../options/index.js';
import type { RollbackRecord } from '../state/index.js';
import { type BackupSummary, listBackups } from './list.js';
import { reopenUndoneSteps } from './reopen.js';
import { parsedManifest, resolveBackup, verifiedManifest } from './rollback-backup.js';
import { asidePaths, assertStep, RollbackContext } from './rollback-context.js';
import { type RollbackOptions, rollbackOptionsSchema } from './rollback-options.js';
import { runFrom, runSteps } from './rollback-run.js';
import {
  DONE,
  nextStepOf,
  ROLLBACK_STEPS,
  type RollbackResult,
  type RollbackStartOptions,
  type RollbackStatusReport,
  stepReports,
} from './rollback-types.js';

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
  readonly #ctx: RollbackContext;

  constructor(options: RollbackOptions) {
    this.#ctx = new RollbackContext(validateOptions('Rollback', rollbackOptionsSchema, options));
  }

  /** `rollback list`: the backups (newest first) and the rollback history. */
  async list(): Promise<{ backups: BackupSummary[]; history: RollbackRecord[] }> {
    const { component, site, root } = this.#ctx.options;
    const backups = (await listBackups(this.#ctx.host, root)).filter(
      (b) => b.status !== 'ready' || (b.component === component && b.site === site),
    );
    return { backups, history: await this.#ctx.history.list(component, site) };
  }

  /** `rollback status`: where the unfinished (or the latest) rollback stands. */
  async status(): Promise<RollbackStatusReport> {
    const { component, site } = this.#ctx.options;
    const open = await this.#ctx.history.unfinished(component, site);
    const record = open ?? (await this.#ctx.history.list(component, site, 1))[0];
    const kept = record ? await this.#ctx.kept(record) : [];
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
    const ctx = this.#ctx;
    return ctx.locked(async () => {
      const { component, site } = ctx.options;
      const open = await ctx.history.unfinished(component, site);
      if (open) {
        if (open.type === 'manual' || (backupId !== 'latest' && backupId !== open.backupId)) {
          return ctx.needsDecision(open, began);
        }
        const manifest = await this.#verified(open.backupId);
        ctx.log(
          'warn',
          `continuing interrupted rollback ${open.rollbackId} (to backup ${open.backupId}) from step ${nextStepOf(open)}`,
        );
        await ctx.countdown(`continuing rollback ${open.rollbackId}`);
        await ctx.history.finish(component, site, open.rollbackId, 'running');
        return runFrom(ctx, open, manifest, nextStepOf(open) ?? 6, true, began);
      }
      const { backupId: id, manifest } = await resolveBackup(ctx.scope, backupId);
      const mode = ctx.mode(start, manifest);
      try {
        await ctx.countdown(`${mode} rollback of ${component} to ${manifest.version_from} (backup ${id})`);
      } catch (error) {
        const record = await ctx.history.start(ctx.newRecord(id, manifest, 'auto', mode));
        await ctx.history.finish(
          component,
          site,
          record.rollbackId,
          'cancelled',
          describeError(error).message,
        );
        return ctx.result(await ctx.reload(record), 'cancelled', began, false, {
          error: error as UpgradeKitError,
          message: `rollback ${record.rollbackId} cancelled during the countdown; nothing was changed`,
        });
      }
      const record = await ctx.history.start(ctx.newRecord(id, manifest, 'auto', mode));
      ctx.log(
        'info',
        `rollback ${record.rollbackId}: ${mode} rollback to backup ${id} (${manifest.version_to} → ${manifest.version_from})`,
      );
      return runFrom(ctx, record, manifest, 1, false, began);
    });
  }

  /** `rollback manual <backupId|latest>`: verifies the backup and opens a rollback to run step by step. */
  async manual(backupId = 'latest', start: RollbackStartOptions = {}): Promise<RollbackResult> {
    const began = performance.now();
    const ctx = this.#ctx;
    return ctx.locked(async () => {
      const open = await ctx.history.unfinished(ctx.options.component, ctx.options.site);
      if (open) return ctx.needsDecision(open, began);
      const { backupId: id, manifest } = await resolveBackup(ctx.scope, backupId);
      const mode = ctx.mode(start, manifest);
      const record = await ctx.history.start(ctx.newRecord(id, manifest, 'manual', mode));
      return ctx.result(record, 'in-progress', began, false, {
        message: `manual ${mode} rollback ${record.rollbackId} to backup ${id} is ready: run step 1 (${ROLLBACK_STEPS[0].name})`,
      });
    });
  }

  /** `rollback step N`: runs one step of the unfinished rollback; the steps before it must be done. */
  async step(step: number): Promise<RollbackResult> {
    assertStep(step);
    return this.#onOpen(async (open, began) => {
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
        step >= 2 && step <= 4
          ? await this.#verified(open.backupId)
          : await parsedManifest(this.#ctx.host, this.#ctx.options.root, open.backupId);
      await this.#ctx.history.finish(open.component, open.site, open.rollbackId, 'running');
      return runSteps(this.#ctx, open, manifest, [[step]], false, began);
    });
  }

  /**
   * `rollback auto-continue-from N`: runs step N and all after it automatically. Steps before N
   * that are not done are recorded as skipped by the operator (done by hand).
   */
  async autoContinueFrom(step: number): Promise<RollbackResult> {
    assertStep(step);
    const ctx = this.#ctx;
    return this.#onOpen(async (open, began) => {
      const manifest = await this.#verified(open.backupId);
      for (const { step: n } of ROLLBACK_STEPS) {
        if (n >= step || DONE.has(open.steps[n]?.status ?? 'pending')) continue;
        ctx.log(
          'warn',
          `rollback ${open.rollbackId}: step ${n} marked skipped by the operator (auto-continue-from ${step})`,
        );
        await ctx.setStep(open, n, {
          status: 'skipped',
          reason: `skipped by the operator (auto-continue-from ${step})`,
        });
      }
      await ctx.history.finish(open.component, open.site, open.rollbackId, 'running');
      return runFrom(ctx, await ctx.reload(open), manifest, step, true, began);
    });
  }

  /** Gives up the unfinished rollback; its pre-rollback copies stay for the operator to inspect. */
  async abandon(): Promise<RollbackResult> {
    const ctx = this.#ctx;
    return this.#onOpen(async (open, began) => {
      await ctx.history.finish(
        open.component,
        open.site,
        open.rollbackId,
        'abandoned',
        'abandoned by the operator',
      );
      const record = await ctx.reload(open);
      // What was restored before giving up is restored: those upgrade steps must run again too.
      const restored = [2, 3, 4].some((n) => open.steps[n]?.status === 'succeeded');
      if (restored) {
        const mode = open.steps[2]?.status === 'succeeded' ? 'full' : 'compatible';
        const { reopened } = await reopenUndoneSteps(ctx.options.state, { ...record, mode });
        if (reopened.length > 0)
          ctx.log(
            'info',
            `${reopened.length} upgrade step(s) undone by the restores so far are pending again`,
          );
      }
      return ctx.result(record, 'abandoned', began, false, {
        message: `rollback ${open.rollbackId} abandoned; pre-rollback copies (if any) were left in place`,
      });
    });
  }

  /** Under the site lock, with the unfinished rollback (there must be one): `step`, `auto-continue-from`, `abandon`. */
  #onOpen(work: (open: RollbackRecord, began: number) => Promise<RollbackResult>): Promise<RollbackResult> {
    const began = performance.now();
    return this.#ctx.locked(async () => work(await this.#ctx.requireOpen(), began));
  }

  #verified(backupId: string) {
    return verifiedManifest(this.#ctx.host, this.#ctx.options.root, backupId);
  }
}

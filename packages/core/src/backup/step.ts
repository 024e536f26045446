import type { StepContext, StepDefinition } from '../model/index.js';
import { anObject, checkArguments, validateOptions } from '../options/index.js';
import { type BackupOptions, backupOptionsSchema, createBackup, hostFor } from './create.js';
import { findVerifiedBackup, removePartialBackups } from './list.js';

/** What the step needs; component, site, versions, run id, events and signal come from the upgrade. */
export type BackupStepOptions = Omit<
  BackupOptions,
  'component' | 'site' | 'versionFrom' | 'versionTo' | 'runId' | 'events' | 'signal'
> & {
  /** Step id. Default `backup`. */
  readonly id?: string;
  readonly timeoutMs?: number;
};

/**
 * The backup as an engine step (seed 004 §4.2.3.3–4): skipped when a backup of this component,
 * site and version pair already verifies; a retry first removes what an interrupted attempt left.
 *
 * @example
 * upgrade.step('preUpgrade', backupStep({ root: '/backup', programDir: '/opt/app', databases }));
 */
export function backupStep(options: BackupStepOptions): StepDefinition {
  checkArguments('backupStep', { options: anObject('{ host, root, component, … }') }, { options });
  const { id = 'backup', timeoutMs, ...rest } = options;
  // Fail on bad options when the step is defined, not at 2 a.m. when it runs.
  validateOptions('backupStep', backupOptionsSchema, {
    ...rest,
    component: 'x',
    versionFrom: '0',
    versionTo: '0',
  });
  const host = hostFor(rest);
  const match = (ctx: StepContext) => ({
    component: ctx.component,
    site: ctx.site.id,
    versionFrom: ctx.from,
    versionTo: ctx.to,
  });
  return {
    id,
    name: 'Verified backup',
    kind: 'file',
    idempotent: true,
    ...(timeoutMs ? { timeoutMs } : {}),
    summary: `backup to ${rest.root}${host.remote ? ` on ${host.name}` : ''}`,
    skipIf: async (ctx) => {
      const found = await findVerifiedBackup(host, rest.root, match(ctx));
      if (found) ctx.log.info(`a verified backup for ${ctx.from} → ${ctx.to} exists: ${found.backupId}`);
      return found !== undefined;
    },
    cleanup: async (ctx) => {
      const removed = await removePartialBackups(host, rest.root, match(ctx));
      if (removed.length) ctx.log.info(`removed partial backup(s) ${removed.join(', ')} before retrying`);
    },
    run: async (ctx) => {
      const result = await createBackup({
        ...rest,
        host,
        component: ctx.component,
        site: ctx.site.id,
        versionFrom: ctx.from,
        versionTo: ctx.to,
        runId: ctx.runId,
        events: ctx.events,
        signal: ctx.signal,
      });
      if (result.status !== 'completed') throw result.error;
      return result;
    },
  };
}

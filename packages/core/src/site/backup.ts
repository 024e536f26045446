import type { BackupManifest } from '../backup/index.js';
import {
  backupStep,
  type CreateBackupResult,
  createBackup,
  Rollback,
  type RollbackHooks,
  type RollbackModeChoice,
} from '../backup/index.js';
import type { BackupConfig, SiteBackupOptions, SiteBackupSettings, SiteConfig } from '../config/index.js';
import { backupSettings } from '../config/internal.js';
import { connectHost } from '../datasources/index.js';
import { openStateStore } from '../datasources/internal.js';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { StepDefinition } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { plan } from '../plan/index.js';
import type { Release } from '../release/index.js';
import type { SshSession } from '../remote/index.js';
import { type CommandRunner, localRunner, probeHealth, startService, stopService } from '../service/index.js';

// A site's backups and rollbacks: the `backup:` section (config/backup.ts) put to work on this
// machine or the configured host, with the state store and the service's stop and start.

type SiteCallOptions = SiteBackupOptions & { readonly config: SiteConfig; readonly signal?: AbortSignal };

/** The events and the cancellation a call was given, handed on to what it starts: only those set. */
function eventsAndSignal(options: SiteCallOptions) {
  return {
    ...(options.events ? { events: options.events } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/** The site's backup settings, once the public entry point `where` has checked its argument. */
function checkedSettings(where: string, options: SiteCallOptions): SiteBackupSettings {
  checkArguments(where, { options: anObject('{ config, release?, … }') }, { options });
  checkArguments(where, { config: anObject('a site configuration (loadSiteConfig())') }, options as never);
  return backupSettings(options.config, options);
}

function connectBackupHost(settings: SiteBackupSettings, options: SiteCallOptions) {
  return settings.host
    ? connectHost(settings.host, options.config, {
        role: 'transfer',
        ...(options.env ? { env: options.env } : {}),
        ...eventsAndSignal(options),
      })
    : undefined;
}

export interface BackupSiteOptions extends SiteBackupOptions {
  readonly config: SiteConfig;
  /** The version running now, and the one the backup is taken before upgrading to. */
  readonly from: string;
  readonly to: string;
  readonly signal?: AbortSignal;
}

/**
 * `upgradekit backup`: one verified backup of the configured site, on this machine or the
 * configured host. Resolves with the result (a failed backup is removed and carries its error).
 *
 * @example
 * const result = await backupSite({ config, release, from: '2.16.6', to: '2.16.7', events });
 * if (result.status !== 'completed') throw result.error;
 */
export async function backupSite(options: BackupSiteOptions): Promise<CreateBackupResult> {
  const settings = checkedSettings('backupSite', options);
  const session = await connectBackupHost(settings, options);
  try {
    return await createBackup({
      ...settings.options,
      component: settings.component,
      site: settings.site,
      versionFrom: options.from,
      versionTo: options.to,
      ...(session ? { session } : {}),
      ...eventsAndSignal(options),
    });
  } finally {
    await session?.close();
  }
}

export interface OpenRollbackOptions extends SiteBackupOptions {
  readonly config: SiteConfig;
  readonly signal?: AbortSignal;
  /** Skip the countdown before an automatic rollback. */
  readonly yes?: boolean;
  /** Under CI there is nobody to press Ctrl-C: no countdown. Default: `CI` is set. */
  readonly ci?: boolean;
  readonly countdownMs?: number;
}

export interface SiteRollback {
  readonly rollback: Rollback;
  readonly component: string;
  readonly site: string;
  /** Closes the SSH session and the state store. */
  close(): Promise<void>;
}

/**
 * A `Rollback` for the configured site: its state store (the history), its backup root and host,
 * the datasources' credentials, and the service stop/start of `backup.services` as steps 1 and 5.
 *
 * @example
 * const { rollback, close } = await openSiteRollback({ config, release, events, yes: true });
 * try { console.log((await rollback.auto('latest')).message); } finally { await close(); }
 */
export async function openSiteRollback(options: OpenRollbackOptions): Promise<SiteRollback> {
  const settings = checkedSettings('openSiteRollback', options);
  const connect = {
    ...(options.env ? { env: options.env } : {}),
    ...(options.events ? { events: options.events } : {}),
  };
  const state = await openStateStore(options.config, connect);
  let session: SshSession | undefined;
  try {
    session = await connectBackupHost(settings, options);
    const runner: CommandRunner = session ?? localRunner();
    const rollback = new Rollback({
      state,
      component: settings.component,
      site: settings.site,
      root: settings.options.root,
      databases: settings.options.databases ?? [],
      hooks: serviceHooks(settings.services, runner),
      ...(session ? { session } : {}),
      ...eventsAndSignal(options),
      ...(options.yes !== undefined ? { yes: options.yes } : {}),
      ...(options.ci !== undefined ? { ci: options.ci } : {}),
      ...(options.countdownMs !== undefined ? { countdownMs: options.countdownMs } : {}),
    });
    const opened = session;
    return {
      rollback,
      component: settings.component,
      site: settings.site,
      close: async () => {
        await Promise.allSettled([opened?.close(), state.close()]);
      },
    };
  } catch (error) {
    await Promise.allSettled([session?.close(), state.close()]);
    throw error;
  }
}

function healthCheckOf(
  health: NonNullable<BackupConfig['services']>['health'],
): { http: string } | { command: string[] } | undefined {
  if (health === undefined) return undefined;
  return typeof health === 'string' ? { http: health } : { command: health.command };
}

/** Rollback steps 1, 5 and 6 from `backup.services`: stop, start until healthy, check health. */
function serviceHooks(services: SiteBackupSettings['services'], runner: CommandRunner): RollbackHooks {
  if (!services) return {};
  const health = healthCheckOf(services.health);
  const { stop, start } = services;
  return {
    ...(stop
      ? {
          stopServices: (ctx) =>
            stopService({
              runner,
              ...(stop.pidFile ? { pidFile: stop.pidFile } : { unit: stop.unit as string }),
              ...(stop.graceMs !== undefined ? { graceMs: stop.graceMs } : {}),
              events: ctx.events,
              signal: ctx.signal,
            }),
        }
      : {}),
    ...(start
      ? {
          startServices: (ctx) =>
            startService({
              runner,
              ...(start.command ? { command: start.command } : { unit: start.unit as string }),
              ...(start.cwd ? { cwd: start.cwd } : {}),
              ...(start.log ? { log: start.log } : {}),
              ...(start.pidFile ? { pidFile: start.pidFile } : {}),
              ...(start.timeoutMs ? { timeoutMs: start.timeoutMs } : {}),
              ...(health ? { health } : {}),
              events: ctx.events,
              signal: ctx.signal,
            }),
        }
      : {}),
    ...(health
      ? {
          verify: async (ctx) => {
            const probe = await probeHealth(health, { runner, signal: ctx.signal });
            if (!probe.ok) {
              throw new UpgradeKitError(
                ErrorCodes.UNHEALTHY,
                `the service is not healthy after the rollback: ${probe.detail}`,
                {
                  context: { detail: probe.detail },
                },
              );
            }
          },
        }
      : {}),
  };
}

/**
 * The `backup` step an upgrade runs first in `preUpgrade` when the site configuration has a
 * `backup:` section (seed 004 §4.2.3.3): skipped when a verified backup of this version pair
 * exists. A remote backup host is connected when the step first runs, so `plan` and `status`
 * never open SSH.
 */
export function siteBackupStep(
  config: SiteConfig,
  options: SiteBackupOptions,
): { step: StepDefinition; close(): Promise<void> } | undefined {
  if (!config.backup) return undefined;
  const settings = backupSettings(config, options);
  const local = backupStep(settings.options); // validates the options now, whatever the host
  if (!settings.host) return { step: local, close: async () => {} };
  let session: Promise<SshSession> | undefined;
  let remote: Promise<StepDefinition> | undefined;
  const inner = (signal: AbortSignal) => {
    if (!remote) {
      // The first step context's signal: an abort of the run stops the connect (later ones reuse it).
      session = connectBackupHost(settings, { ...options, config, signal }) as Promise<SshSession>;
      remote = session.then(
        (s) => backupStep({ ...settings.options, session: s }),
        (error: unknown) => {
          // Not cached: the step's retry connects again.
          session = undefined;
          remote = undefined;
          throw error;
        },
      );
    }
    return remote;
  };

  return {
    step: {
      ...local,
      summary: `backup to ${settings.options.root} on ${settings.host.name}`,
      skipIf: async (ctx) => ((await inner(ctx.signal)).skipIf as NonNullable<StepDefinition['skipIf']>)(ctx),
      cleanup: async (ctx) =>
        ((await inner(ctx.signal)).cleanup as NonNullable<StepDefinition['cleanup']>)(ctx),
      run: async (ctx) => (await inner(ctx.signal)).run(ctx),
    },
    close: async () => {
      const open = await session?.catch(() => undefined);
      await open?.close();
    },
  };
}

/**
 * Judges, from the release, whether a backup's upgrade allows a compatible rollback (seed 000
 * §8.4): when every task of `version_from → version_to` for this site is marked `additive`, the old
 * version runs on the new data, so the rollback restores program and configuration and keeps the
 * data written since. One task that is not marked makes it a full rollback. Pass the result as
 * `rollback.auto(id, { compatible })`.
 *
 * @example
 * await rollback.auto('latest', { compatible: rollbackModeFromRelease(release, 'site-042') });
 */
export function rollbackModeFromRelease(
  release: Release,
  site?: string,
): (manifest: BackupManifest) => RollbackModeChoice {
  checkArguments('rollbackModeFromRelease', { release: anObject('a release (loadRelease)') }, { release });
  return (manifest) => {
    const upgrade = `${manifest.version_from} → ${manifest.version_to}`;
    try {
      const planned = plan({
        release,
        from: manifest.version_from,
        to: manifest.version_to,
        ...(site ? { site } : {}),
        // The backup records what was run; a target past this release's versions changed nothing here.
        pastNewest: true,
      });
      const other = planned.tasks.find((t) => t.additive !== true);
      if (other) {
        return {
          compatible: false,
          reason: `task ${other.id} (${other.version}) of ${upgrade} is not marked additive: the data is restored too`,
        };
      }
      return {
        compatible: true,
        reason:
          planned.tasks.length === 0
            ? `no task of ${upgrade} changes data: the data is kept`
            : `all ${planned.tasks.length} task(s) of ${upgrade} are additive: the data is kept`,
      };
    } catch (error) {
      return {
        compatible: false,
        reason: `release ${release.component} cannot say what ${upgrade} changed (${describeError(error).message.split('\n')[0]}): the data is restored too`,
      };
    }
  };
}

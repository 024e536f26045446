import { isAbsolute, resolve } from 'node:path';
import type { BackupManifest } from '../backup/index.js';
import {
  type BackupStepOptions,
  backupStep,
  type CreateBackupResult,
  createBackup,
  type DatabaseSpec,
  Rollback,
  type RollbackHooks,
  type RollbackModeChoice,
} from '../backup/index.js';
import { describeError, ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { StepDefinition } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { plan } from '../plan/index.js';
import type { Release } from '../release/index.js';
import type { SshSession } from '../remote/index.js';
import { type CommandRunner, localRunner, probeHealth, startService, stopService } from '../service/index.js';
import { StateStore } from '../state/index.js';
import { stateOptions } from './connect.js';
import { connectHost } from './hosts.js';
import { resolveSecret, type SiteConfig, siteIdOf } from './load.js';
import type { BackupConfig, HostConfig } from './schema.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The `backup:` section made concrete: absolute paths, database credentials, the host to work on. */
export interface SiteBackupSettings {
  readonly component: string;
  readonly site: string;
  /** Absent: this machine. */
  readonly host?: HostConfig;
  readonly options: Omit<BackupStepOptions, 'id' | 'timeoutMs' | 'host' | 'session'> & { root: string };
  readonly services?: NonNullable<BackupConfig['services']>;
}

export interface SiteBackupOptions {
  /** Gives the component and each datasource's engine. */
  readonly release?: Release;
  /** Overrides `backup.component` and the release's. */
  readonly component?: string;
  readonly env?: Env;
  /** Passwords are registered on it as secrets. */
  readonly events?: EventBus;
  /** Resolve database credentials (false for `rollback list`/`status`, which touch no database). */
  readonly credentials?: boolean;
}

const DEFAULT_PORTS = { mysql: 3306, mariadb: 3306, postgres: 5432, clickhouse: 8123 } as const;

function problem(config: SiteConfig, field: string, message: string): UpgradeKitError {
  const where = config.file ?? 'the site configuration';
  return new UpgradeKitError(ErrorCodes.BAD_INPUT, `${where}: ${field}: ${message}`, {
    context: { file: config.file, field },
  });
}

/**
 * Reads the site configuration's `backup:` section: which directories and databases a backup
 * saves, where it goes, on which host, and how a rollback stops and starts the service. Every
 * mistake is reported by field before anything connects.
 *
 * @example
 * const settings = backupSettings(loadSiteConfig({ file: 'site-042.yaml' }), { release });
 * await createBackup({ ...settings.options, component: settings.component, versionFrom, versionTo });
 */
export function backupSettings(config: SiteConfig, options: SiteBackupOptions = {}): SiteBackupSettings {
  const b = config.backup;
  if (!b) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${config.file ?? 'no --config file was given, so the site configuration'} has no backup: section; add one, e.g. backup: { root: /backup, programDir: /opt/app } (see docs/backup.md)`,
      { context: { file: config.file } },
    );
  }
  if (options.release && b.component && !options.component && b.component !== options.release.component) {
    throw problem(
      config,
      'backup.component',
      `is ${b.component}, but the release upgrades ${options.release.component}: a run's backups are filed under ${options.release.component}, so \`rollback\` would look in the wrong place; remove backup.component`,
    );
  }
  const component = options.component ?? b.component ?? options.release?.component;
  if (!component) {
    throw problem(
      config,
      'backup.component',
      'which component? give --release (or --component), or set backup.component',
    );
  }
  let host: HostConfig | undefined;
  if (b.host !== undefined) {
    host = config.hosts.find((h) => h.name === b.host);
    if (!host) {
      const names = config.hosts.map((h) => h.name).join(', ') || 'none';
      throw problem(config, 'backup.host', `"${b.host}" is not a name in hosts (${names})`);
    }
  }
  // A remote host has no idea where our config file is: there, only absolute paths mean anything.
  const place = (field: string, path: string): string => {
    if (isAbsolute(path)) return path;
    if (host) throw problem(config, field, `${path} must be an absolute path on ${host.name}`);
    return resolve(config.baseDir, path);
  };
  const env = options.env ?? process.env;
  if (options.credentials !== false && !options.release && !b.databases) {
    // Restoring with what the manifest recorded (no password) would fail after step 1 stopped the service.
    throw problem(
      config,
      'backup.databases',
      'without --release the datasources to restore are unknown: pass --release, or list them here as { datasource, engine } ([] when there are none)',
    );
  }
  const databases = options.credentials === false ? [] : databaseSpecs(config, b, options, env, host?.name);
  const services = b.services && {
    ...b.services,
    ...(b.services.stop?.pidFile
      ? {
          stop: {
            ...b.services.stop,
            pidFile: place('backup.services.stop.pidFile', b.services.stop.pidFile),
          },
        }
      : {}),
    ...(b.services.start
      ? {
          start: {
            ...b.services.start,
            ...(b.services.start.cwd
              ? { cwd: place('backup.services.start.cwd', b.services.start.cwd) }
              : {}),
            ...(b.services.start.log
              ? { log: place('backup.services.start.log', b.services.start.log) }
              : {}),
            ...(b.services.start.pidFile
              ? { pidFile: place('backup.services.start.pidFile', b.services.start.pidFile) }
              : {}),
          },
        }
      : {}),
  };
  return {
    component,
    site: siteIdOf(config),
    ...(host ? { host } : {}),
    options: {
      root: place('backup.root', b.root),
      ...(b.programDir ? { programDir: place('backup.programDir', b.programDir) } : {}),
      ...(b.excludes ? { excludes: [...b.excludes] } : {}),
      ...(b.config
        ? {
            config: {
              paths: b.config.paths.map((p, i) => place(`backup.config.paths[${i}]`, p)),
              root: place('backup.config.root', b.config.root),
            },
          }
        : {}),
      databases,
    },
    ...(services ? { services } : {}),
  };
}

/** The database specs for the datasources the backup names (default: every one that can be dumped). */
function databaseSpecs(
  config: SiteConfig,
  b: BackupConfig,
  options: SiteBackupOptions,
  env: Env,
  /** The remote backup host, if any: tools there cannot be handed a password safely. */
  remote: string | undefined,
): DatabaseSpec[] {
  const release = options.release;
  const listed =
    b.databases ??
    Object.entries(release?.datasources ?? {})
      .filter(([, ds]) => ds.type !== 'sqlite')
      .map(([name]) => name);
  return listed.map((item, index): DatabaseSpec => {
    const field = `backup.databases[${index}]`;
    const name = typeof item === 'string' ? item : item.datasource;
    const declared = release?.datasources[name]?.type;
    if (release && !declared && (typeof item === 'string' || !item.engine)) {
      const names = Object.keys(release.datasources).join(', ');
      throw problem(
        config,
        field,
        `"${name}" is not a datasource of release ${release.component} (${names})`,
      );
    }
    const engine = (typeof item === 'string' ? undefined : item.engine) ?? declared;
    if (!engine) {
      throw problem(
        config,
        field,
        `say which engine "${name}" is — { datasource: ${name}, engine: mariadb } — or pass --release`,
      );
    }
    if (engine === 'sqlite') {
      throw problem(
        config,
        field,
        `"${name}" is a SQLite file: it is saved as a file, so list it under backup.config.paths or keep it in backup.programDir`,
      );
    }
    const entry = config.datasources[name];
    if (!entry) throw problem(config, field, `"${name}" has no connection: add datasources.${name}`);
    if (remote && engine === 'clickhouse') {
      throw problem(
        config,
        field,
        `"${name}" is ClickHouse, saved over its HTTP interface from this machine: it cannot be part of a backup on ${remote}; leave it out of backup.databases there`,
      );
    }
    const secretFile =
      typeof item === 'string' ? undefined : engine === 'postgres' ? item.passFile : item.defaultsFile;
    const password = resolveSecret(`datasources.${name}`, entry, config, env);
    if (password) options.events?.addSecret(password);
    if (remote && password && !secretFile) {
      const example =
        engine === 'postgres' ? 'passFile: /home/backup/.pgpass' : 'defaultsFile: /etc/app/backup.cnf';
      throw problem(
        config,
        field,
        `the password of "${name}" cannot be handed to the dump tool on ${remote} without writing it there: name a file the host already has — { datasource: ${name}, ${example} }`,
      );
    }
    const common = {
      ...(listed.length > 1 ? { name: name.replace(/[^A-Za-z0-9_-]/g, '_') } : {}),
      ...(entry.user ? { user: entry.user } : {}),
      // On a remote host the file there carries the password, never this process.
      ...(password !== undefined && !(remote && secretFile) ? { password } : {}),
      ...(secretFile
        ? engine === 'postgres'
          ? { passFile: secretFile }
          : { defaultsFile: secretFile }
        : {}),
    };
    if (engine === 'clickhouse') {
      if (!entry.url)
        throw problem(
          config,
          `datasources.${name}.url`,
          'ClickHouse needs its HTTP URL, e.g. http://127.0.0.1:8123',
        );
      const url = new URL(entry.url);
      if (url.protocol !== 'http:') {
        // The backup speaks plain HTTP with the password in a header: never to a URL that promised TLS.
        throw problem(
          config,
          `datasources.${name}.url`,
          `${url.protocol}// is not supported by ClickHouse backups (plain http only, which would send the password unencrypted): give the http endpoint on a trusted network`,
        );
      }
      return {
        ...common,
        engine,
        database: entry.database ?? 'default',
        host: url.hostname,
        port: Number(url.port || DEFAULT_PORTS.clickhouse),
      };
    }
    if (!entry.database)
      throw problem(config, `datasources.${name}.database`, 'the database to dump is missing');
    return {
      ...common,
      engine,
      database: entry.database,
      host: entry.host ?? '127.0.0.1',
      port: entry.port ?? DEFAULT_PORTS[engine],
      ...(entry.user ? {} : { user: engine === 'postgres' ? 'postgres' : 'root' }),
    };
  });
}

function connectBackupHost(
  settings: SiteBackupSettings,
  config: SiteConfig,
  options: SiteBackupOptions & { readonly signal?: AbortSignal },
) {
  return settings.host
    ? connectHost(settings.host, config, {
        role: 'transfer',
        ...(options.env ? { env: options.env } : {}),
        ...(options.events ? { events: options.events } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
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
  checkArguments('backupSite', { options: anObject('{ config, release?, … }') }, { options });
  checkArguments(
    'backupSite',
    { config: anObject('a site configuration (loadSiteConfig())') },
    options as never,
  );
  const settings = backupSettings(options.config, options);
  const session = await connectBackupHost(settings, options.config, options);
  try {
    return await createBackup({
      ...settings.options,
      component: settings.component,
      site: settings.site,
      versionFrom: options.from,
      versionTo: options.to,
      ...(session ? { session } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
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
  checkArguments('openSiteRollback', { options: anObject('{ config, release?, … }') }, { options });
  checkArguments(
    'openSiteRollback',
    { config: anObject('a site configuration (loadSiteConfig())') },
    options as never,
  );
  const settings = backupSettings(options.config, options);
  const connect = {
    ...(options.env ? { env: options.env } : {}),
    ...(options.events ? { events: options.events } : {}),
  };
  const state = await StateStore.open(stateOptions(options.config, connect));
  let session: SshSession | undefined;
  try {
    session = await connectBackupHost(settings, options.config, options);
    const runner: CommandRunner = session ?? localRunner();
    const rollback = new Rollback({
      state,
      component: settings.component,
      site: settings.site,
      root: settings.options.root,
      databases: settings.options.databases ?? [],
      hooks: serviceHooks(settings.services, runner),
      ...(session ? { session } : {}),
      ...(options.events ? { events: options.events } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
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
      session = connectBackupHost(settings, config, { ...options, signal }) as Promise<SshSession>;
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

import { isAbsolute, resolve } from 'node:path';
import type { BackupStepOptions, DatabaseSpec } from '../backup/index.js';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventBus } from '../events/index.js';
import type { Release } from '../release/index.js';
import { CONNECTION_DEFAULTS, connectionSpec } from './connection.js';
import { type SiteConfig, siteIdOf } from './load.js';
import type { BackupConfig, HostConfig } from './schema.js';
import { resolveSecret } from './secrets.js';

// The site configuration's `backup:` section translated into what a backup and a rollback take:
// absolute paths, each database's engine and credentials, the host to work on.

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
          `ClickHouse needs its HTTP URL, e.g. http://${CONNECTION_DEFAULTS.clickhouse.host}:${CONNECTION_DEFAULTS.clickhouse.port}`,
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
        port: Number(url.port || CONNECTION_DEFAULTS.clickhouse.port),
      };
    }
    if (!entry.database)
      throw problem(config, `datasources.${name}.database`, 'the database to dump is missing');
    return {
      ...common,
      engine,
      database: entry.database,
      ...connectionSpec(engine, entry),
    };
  });
}

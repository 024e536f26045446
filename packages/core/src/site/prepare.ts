import { loadSiteConfig, type SiteConfig } from '../config/index.js';
import { DEFAULT_SITE } from '../config/internal.js';
import { type Datasources, openDatasources } from '../datasources/index.js';
import { checkConnections, checkState, openStateStore, stateOptions } from '../datasources/internal.js';
import { EventBus } from '../events/index.js';
import type { Connection } from '../migrate/index.js';
import { addPlanSteps } from '../migrate/index.js';
import type { DatasourceMap } from '../model/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { type Plan, plan } from '../plan/index.js';
import type { Release } from '../release/index.js';
import { loadRelease } from '../release/index.js';
import { createUpgrade, type Upgrade } from '../stages/index.js';
import { siteBackupStep } from './backup.js';

export interface PrepareUpgradeOptions {
  /** A release directory, or a release already loaded. */
  readonly release: string | Release;
  readonly from: string;
  readonly to: string;
  /** Default: an empty configuration (SQLite state and SQLite datasources under `.upgradekit/`). */
  readonly config?: SiteConfig;
  readonly events?: EventBus;
  readonly signal?: AbortSignal;
  /** Abort the running step on SIGINT/SIGTERM, record it and release the lock. For CLIs. */
  readonly handleSignals?: boolean;
  /** Cancel a statement an interrupted run left running on the server, instead of awaiting it (`--kill-in-doubt`). */
  readonly killInDoubt?: boolean;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
}

/** What `ctx.datasources` holds after `prepareUpgrade`: a knex or ClickHouse client per name. */
export type SiteDatasources = Readonly<Record<string, Connection>>;

/**
 * `D` names the clients your hooks use, as the release declares them — `prepareUpgrade<{ main:
 * Knex }>(…)` — so `ctx.datasources.main` is a `Knex` in every hook, with no cast.
 */
export interface PreparedUpgrade<D extends DatasourceMap = SiteDatasources> {
  readonly release: Release;
  readonly plan: Plan;
  readonly upgrade: Upgrade<D>;
  readonly config: SiteConfig;
  /** The site's datasources, open (lazily) for tasks, hooks and the assessment. */
  readonly connections: Datasources['connections'];
  /** Closes the state store and every datasource connection. */
  close(): Promise<void>;
}

/**
 * Everything between a release directory and a runnable upgrade, in the order an operator expects
 * problems to surface: the release is validated, the plan made, every datasource and secret checked
 * — and only then is anything opened. Register your own hooks on `upgrade.hooks` before running.
 *
 * @example
 * const { upgrade, plan, close } = await prepareUpgrade({ release: 'releases/dr', from: '2.16.5', to: '2.16.7',
 *   config: loadSiteConfig({ file: 'site-042.yaml' }) });
 * try { await upgrade.runStage('preStart'); } finally { await close(); }
 */
export async function prepareUpgrade<D extends DatasourceMap = SiteDatasources>(
  options: PrepareUpgradeOptions,
): Promise<PreparedUpgrade<D>> {
  checkArguments('prepareUpgrade', { options: anObject('{ release, from, to, config? }') }, { options });
  const release = typeof options.release === 'string' ? await loadRelease(options.release) : options.release;
  const config = options.config ?? loadSiteConfig({ ...(options.cwd ? { cwd: options.cwd } : {}) });
  const site = config.site ?? { id: DEFAULT_SITE };
  const planned = plan({ release, from: options.from, to: options.to, site: site.id });
  const events = options.events ?? new EventBus();
  const env = options.env ?? process.env;
  const connectOptions = { events, env, ...(options.cwd ? { cwd: options.cwd } : {}) };
  const state = stateOptions(config, connectOptions);
  const datasources: Datasources = await openDatasources(release, config, connectOptions);
  try {
    await checkConnections(
      release,
      config,
      datasources.connections,
      planned.tasks.flatMap((t) => (t.datasource ? [t.datasource] : [])),
      env,
    );
    // A refused login to the state database is said here, naming its line, not from a first step.
    await checkState(config, connectOptions);
  } catch (error) {
    await datasources.close();
    throw error;
  }
  const upgrade = createUpgrade<D>({
    component: release.component,
    from: options.from,
    to: options.to,
    site,
    state,
    // What the release declares, typed as the caller says (`D`): checked by name at load time.
    datasources: datasources.connections as unknown as D,
    // The site's hosts, for hooks and rolloutStep (its default host list).
    hosts: config.hosts.map((h) => ({
      name: h.name,
      address: h.host,
      port: h.port,
      user: h.user,
      ...(h.roles ? { roles: [...h.roles] } : {}),
    })),
    events,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.handleSignals ? { handleSignals: true } : {}),
  });
  let backup: ReturnType<typeof siteBackupStep>;
  try {
    // The backup comes first in preUpgrade, before any task changes data (seed 004 §4.2.3.3).
    backup = siteBackupStep(config, { release, env, events });
    if (backup) upgrade.step('preUpgrade', backup.step);
    addPlanSteps(upgrade, planned, {
      release,
      connections: datasources.connections,
      placeholders: config.placeholders,
      ...(options.killInDoubt ? { killInDoubt: true } : {}),
    });
  } catch (error) {
    await Promise.allSettled([upgrade.close(), datasources.close()]);
    throw error;
  }
  return {
    release,
    plan: planned,
    upgrade,
    config,
    connections: datasources.connections,
    close: async () => {
      await Promise.allSettled([upgrade.close(), datasources.close(), backup?.close()]);
    },
  };
}

/**
 * The versions of the last run recorded for a component on the configured site — what `status`
 * and `resolve` act on when the operator does not repeat `--from`/`--to`.
 */
export async function lastRecordedUpgrade(
  component: string,
  config: SiteConfig,
  options: { env?: Readonly<Record<string, string | undefined>>; cwd?: string } = {},
): Promise<{ from: string; to: string } | undefined> {
  const store = await openStateStore(config, options);
  try {
    const [run] = await store.runs(component, config.site?.id ?? DEFAULT_SITE, 1);
    return run ? { from: run.versionFrom, to: run.versionTo } : undefined;
  } finally {
    await store.close();
  }
}

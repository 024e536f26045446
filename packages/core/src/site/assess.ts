import { resolve } from 'node:path';
import type { AssessmentReport } from '../assess/index.js';
import { assess } from '../assess/index.js';
import type { SiteConfig } from '../config/index.js';
import { connectHost } from '../datasources/index.js';
import type { EventBus } from '../events/index.js';
import type { Connection } from '../migrate/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { type Plan, planRoute } from '../plan/index.js';
import type { Release } from '../release/index.js';

export interface AssessSiteInput {
  readonly release: Release;
  readonly plan: Plan;
  /** The site's open datasources (`PreparedUpgrade.connections`). */
  readonly connections: Readonly<Record<string, Connection>>;
}

export interface AssessSiteOptions {
  readonly events?: EventBus;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default `process.cwd()`: the local path checked for disk when the config names none. */
  readonly cwd?: string;
  readonly signal?: AbortSignal;
  /** Judge a multi-hop upgrade over the release's compatibility matrix. Default: when it has one. */
  readonly route?: boolean;
  /** Check ids whose failure or warning the operator accepts for this run (`--accept`). */
  readonly accept?: readonly string[];
}

/**
 * Assesses an upgrade on a configured site: this machine, every host of the configuration (one SSH
 * round trip each, host keys verified), the datasources' sizes and data-quality checks, the plan's
 * compatibility and duration — with the configuration's thresholds.
 *
 * @example
 * const prepared = await prepareUpgrade({ release: dir, from, to, config });
 * const report = await assessSite(prepared, config, { events });
 * if (report.verdict === 'fail') process.exitCode = 1;
 */
export async function assessSite(
  input: AssessSiteInput,
  config: SiteConfig,
  options: AssessSiteOptions = {},
): Promise<AssessmentReport> {
  checkArguments(
    'assessSite',
    { input: anObject('{ release, from, to }'), config: anObject('a site configuration (loadSiteConfig)') },
    { input, config },
  );
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const sessions = await Promise.allSettled(
    config.hosts.map(async (h) => {
      const session = await connectHost(h, config, {
        env,
        role: 'status',
        ...(options.events ? { events: options.events } : {}),
      });
      return { host: h, session };
    }),
  );
  try {
    const connected = sessions.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const useRoute = options.route ?? input.release.compatibility !== undefined;
    const subject = useRoute
      ? planRoute({ release: input.release, from: input.plan.from, to: input.plan.to, site: input.plan.site })
      : input.plan;
    const report = await assess(subject, {
      release: input.release,
      connections: input.connections,
      local: {
        paths: (config.assessment.paths ?? [cwd]).map((p) => resolve(cwd, p)),
        ...(config.assessment.localIsHost ? { host: true } : {}),
      },
      ...(options.accept?.length ? { accept: [...options.accept] } : {}),
      // A host whose key is not checked could be anyone: the report says so, and a run needs a yes.
      checks: config.hosts
        .filter((h) => h.hostKeys === 'off')
        .map((h) => ({
          id: `resources.${h.name}.hostKeys`,
          host: h.name,
          title: `Host key of ${h.name}`,
          status: 'warn' as const,
          detail: `host key checking is OFF for ${h.name} (${h.host}:${h.port}): anyone on the network path can impersonate it`,
          suggestion: `record its key (ssh-keyscan -p ${h.port} ${h.host}, verified with its owner) and set hostKeys: strict`,
        })),
      hosts: connected.map(({ host, session }) => ({ name: host.name, session, paths: host.paths })),
      thresholds: config.assessment.thresholds,
      // A site that backs up rolls back from those backups: check that its accounts could.
      backup: {
        ...(config.assessment.backupPath ? { path: resolve(cwd, config.assessment.backupPath) } : {}),
        rollback: Boolean(config.backup),
      },
      ...(options.events ? { events: options.events } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const unreachable = sessions.flatMap((s, i) =>
      s.status === 'rejected' ? [{ name: config.hosts[i]?.name ?? '?', error: s.reason as Error }] : [],
    );
    return unreachable.length === 0 ? report : withUnreachable(report, unreachable);
  } finally {
    await Promise.allSettled(
      sessions.map((s) => (s.status === 'fulfilled' ? s.value.session.close() : undefined)),
    );
  }
}

/** A host that could not even be reached is a failed resource check naming it, not an exception. */
function withUnreachable(
  report: AssessmentReport,
  hosts: ReadonlyArray<{ name: string; error: Error }>,
): AssessmentReport {
  const checks = hosts.map((h) => ({
    id: `resources.${h.name}.reachable`,
    host: h.name,
    title: `SSH to ${h.name}`,
    status: 'fail' as const,
    detail: h.error.message.split('\n')[0] ?? 'unreachable',
    suggestion: 'check the address, the key and known_hosts in the site configuration, then assess again',
  }));
  return {
    ...report,
    verdict: 'fail',
    counts: { ...report.counts, fail: report.counts.fail + checks.length },
    resources: { ...report.resources, status: 'fail', checks: [...checks, ...report.resources.checks] },
  };
}

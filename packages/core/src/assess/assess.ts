import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { ASSESSMENT_STEP_PREFIX, ASSESSMENT_VERDICT, nullSink, Redactor } from '../events/internal.js';
import { anObject, checkArguments, validateOptions } from '../options/index.js';
import type { Plan, UpgradeRoute } from '../plan/index.js';
import { isRoute } from '../plan/internal.js';
import { assessCompatibility } from './compatibility.js';
import { assessDuration } from './duration.js';
import { type AssessOptions, assessOptionsSchema, type ResolvedAssessOptions } from './options.js';
import { assessDataQuality } from './quality.js';
import { countsLine } from './render/common.js';
import { assessResources } from './resources.js';
import { connectionSecrets } from './sql.js';
import { sectionStatus, verdictOf } from './status.js';
import type {
  AssessmentReport,
  CheckResult,
  CheckStatus,
  DataQualitySection,
  DurationSection,
  ResourcesSection,
  RouteSummary,
} from './types.js';

/** Marks the failed or warning checks whose ids the operator accepted; a section's status then leaves them out. */
function acceptance(patterns: readonly string[]) {
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('[^.]*')}$`,
      ),
  );
  return <S extends { readonly status: CheckStatus; readonly checks: readonly CheckResult[] }>(
    section: S,
  ): S => {
    if (res.length === 0) return section;
    const checks = section.checks.map((c) =>
      (c.status === 'fail' || c.status === 'warn') && res.some((r) => r.test(c.id))
        ? { ...c, accepted: true }
        : c,
    );
    return { ...section, checks, status: sectionStatus(checks.filter((c) => !c.accepted)) };
  };
}

async function section<T>(events: EventSink, name: string, fn: () => Promise<T>): Promise<T> {
  const step = `${ASSESSMENT_STEP_PREFIX}${name}`;
  const started = performance.now();
  events.emit({ type: 'step.start', stage: 'resourceCheck', step });
  try {
    const result = await fn();
    events.emit({
      type: 'step.end',
      stage: 'resourceCheck',
      step,
      status: 'succeeded',
      durationMs: performance.now() - started,
    });
    return result;
  } catch (error) {
    events.emit({
      type: 'step.end',
      stage: 'resourceCheck',
      step,
      status: 'failed',
      durationMs: performance.now() - started,
      error: { message: error instanceof Error ? error.message : String(error) },
    });
    throw error;
  }
}

/** Names in the options must point at something: a typo would otherwise drop a need silently. */
function checkReferences(o: ResolvedAssessOptions): void {
  const hosts = new Set([...(o.local === false ? [] : ['local']), ...o.hosts.map((h) => h.name)]);
  const problems: string[] = [];
  if (hosts.size !== (o.local === false ? 0 : 1) + o.hosts.length)
    problems.push('`hosts`: host names must be unique and not "local"');
  if (o.backup.host !== undefined && !hosts.has(o.backup.host))
    problems.push(
      `\`backup.host\`: "${o.backup.host}" is not among the hosts (${[...hosts].join(', ') || 'none'})`,
    );
  o.backup.dualWrite.forEach((d, i) => {
    if (d.host !== undefined && !hosts.has(d.host))
      problems.push(
        `\`backup.dualWrite.${i}.host\`: "${d.host}" is not among the hosts (${[...hosts].join(', ') || 'none'})`,
      );
  });
  if (problems.length > 0) {
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, `assess: invalid options — ${problems.join('; ')}`, {
      context: { where: 'assess', problems },
    });
  }
}

/**
 * The pre-upgrade assessment (seed 001 §5.2.1–§5.2.4, §6.1.3.4): resources on this machine and
 * every host, data quality, compatibility and duration — all four at once — in one report whose
 * `verdict` is `fail` (stop), `warn` (needs confirmation) or `pass`. Checks that cannot run are
 * results (`skip` or `fail` with the reason), never exceptions; only bad options throw, before
 * anything runs. Connection passwords and `secrets` never appear in the report.
 *
 * @example
 * const release = await loadRelease('./release');
 * const report = await assess(plan({ release, from: '2.16.5', to: '2.16.7' }), {
 *   release,
 *   connections: { main: knex(config) },
 *   hosts: [{ name: 'app-1', session: ssh, paths: ['/opt/app'] }],
 *   backup: { path: '/var/backups/upgradekit' },
 * });
 * if (report.verdict === 'fail') process.exitCode = 1;
 * console.log(renderAssessmentText(report));
 */
export async function assess(
  plan: Plan | UpgradeRoute,
  options: AssessOptions = {},
): Promise<AssessmentReport> {
  checkArguments('assess', { plan: anObject('a plan (plan()) or an upgrade route (planRoute())') }, { plan });
  const o: ResolvedAssessOptions = validateOptions('assess', assessOptionsSchema, options);
  checkReferences(o);
  const started = performance.now();
  const events = o.events ?? nullSink;
  const hops: readonly Plan[] = isRoute(plan) ? plan.hops.map((h) => h.plan) : [plan];
  const tasks = hops.flatMap((h) => h.tasks);
  const versions = [plan.from, ...hops.map((h) => h.to)];

  const accept = acceptance(o.accept);
  const compatibility = accept(assessCompatibility(hops, o));
  const [resources, dataQuality, duration] = (await Promise.all([
    section(events, 'resources', () => assessResources(tasks, o))
      .then((r) => {
        const checks = [...o.checks, ...r.checks];
        return { ...r, checks, status: sectionStatus(checks) };
      })
      .then(accept),
    section(events, 'dataQuality', () => assessDataQuality(versions, o)).then(accept),
    section(events, 'duration', () => assessDuration(hops, o)).then(accept),
  ])) as [ResourcesSection, DataQualitySection, DurationSection];

  const all: CheckStatus[] = [resources, dataQuality, compatibility, duration].flatMap((s) =>
    s.checks.map((c) => c.status),
  );
  // What the operator accepted for this run is reported as measured and blocks nothing.
  const blocking: CheckStatus[] = [resources, dataQuality, compatibility, duration].flatMap((s) =>
    s.checks.map((c) => (c.accepted ? 'pass' : c.status)),
  );
  const counts = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const s of all) counts[s]++;
  const route: RouteSummary | undefined =
    isRoute(plan) && plan.hops.length > 0
      ? {
          mode: plan.path.mode,
          hops: plan.hops.map((h) => ({
            from: h.from,
            to: h.to,
            mode: h.mode,
            tasks: h.plan.tasks.length,
            upgradeMode: h.plan.mode,
            rollbackPoint: h.rollbackPoint,
            ...(h.estimateMs === undefined ? {} : { estimateMs: h.estimateMs }),
          })),
        }
      : undefined;
  const report: AssessmentReport = {
    schema: 'upgradekit.assessment/v1',
    component: plan.component,
    from: plan.from,
    to: plan.to,
    ...(plan.site !== undefined ? { site: plan.site } : {}),
    generatedAt: new Date().toISOString(),
    elapsedMs: Math.round(performance.now() - started),
    verdict: verdictOf(blocking),
    counts,
    ...(route ? { route } : {}),
    resources,
    dataQuality,
    compatibility,
    duration,
  };
  // Drivers quote connection details back in their errors; the password must not travel with them.
  const redactor = new Redactor();
  for (const secret of [...o.secrets, ...Object.values(o.connections).flatMap(connectionSecrets)])
    redactor.add(secret);
  // The report says the same at length: a console shows the report, not this line (ConsoleReporter).
  events.emit({
    type: 'log',
    level: report.verdict === 'fail' ? 'error' : report.verdict === 'warn' ? 'warn' : 'info',
    message: `assessment ${report.verdict}: ${countsLine(counts)}`,
    fields: { kind: ASSESSMENT_VERDICT, verdict: report.verdict, counts },
  });
  return Object.freeze(redactor.redact(report));
}

// `status` and `resolve`: what is done, pending, failed or in doubt, and settling one step.

import type { ResolveDecision } from '../model/index.js';
import type { StatusReport } from '../stages/index.js';
import { idRepeats } from '../stages/internal.js';
import type { CommandInput } from './input.js';
import { resolveCommand } from './next.js';
import { type CommandResult, commandResult, type NextCommand } from './result.js';

type StatusInput = Extract<CommandInput, { command: 'status' }>;

const iso = (ms: number) => new Date(ms).toISOString();
const LIVENESS = { alive: 'alive', dead: 'dead', unknown: 'cannot be checked' } as const;

/** Nothing recorded yet for this component and site. */
export function noStatusResult(component: string, site: string, state?: string): CommandResult {
  // Run from another directory, the default state is another file: say which was read.
  const message = `No upgrade of ${component} recorded on site ${site} yet${state ? ` (state: ${state})` : ''}.`;
  return commandResult({
    command: 'status',
    status: 'none',
    exitClass: 'ok',
    document: { component, site, runs: 0, message, ...(state ? { state } : {}) },
    text: [message],
    markdown: `### ${message}\n`,
  });
}

/**
 * The upgrade's state is the command's status: in doubt needs a decision (exit 3), a failed step
 * is a failure (exit 1), steps not done yet are pending (exit 0; the next run resumes them).
 */
export function statusResult(
  report: StatusReport,
  input: StatusInput,
  mode?: string,
  state?: string,
): CommandResult {
  const c = report.counts;
  const unfinished = c.pending + c.interrupted + c.running;
  const status =
    c.inDoubt > 0 ? 'needs-decision' : c.failed > 0 ? 'failed' : unfinished > 0 ? 'pending' : 'succeeded';
  const repeats = idRepeats(report.steps);
  const next: NextCommand[] = report.steps
    // A step this release does not register is settled by the program that registered it.
    .filter((s) => s.status === 'in_doubt' && s.registered !== false)
    .flatMap((s) => {
      const target = {
        id: s.id,
        ...(s.host ? { host: s.host } : {}),
        ...(repeats(s) ? { version: s.version } : {}),
      };
      const versions = { ...input, release: input.release, from: report.from, to: report.to };
      return [
        resolveCommand(target, 'applied', versions, `${s.id} took effect`),
        resolveCommand(target, 'retry', versions, `${s.id} did not take effect`),
      ];
    });
  const lines = [...statusLines(report), ...(state ? [`  state: ${state}`] : [])];
  return commandResult({
    command: 'status',
    status,
    exitClass: status === 'needs-decision' ? 'decision' : status === 'failed' ? 'failed' : 'ok',
    ...(mode ? { mode } : {}),
    document: { report, ...(state ? { state } : {}) },
    text: lines,
    markdown: `### ${lines[0]}\n\n${lines
      .slice(1)
      .map((l) => `    ${l}`)
      .join('\n')}\n`,
    nextCommands: next,
    ...(status === 'failed' || status === 'needs-decision' ? { failure: lines[0] as string } : {}),
  });
}

/** The run that stopped without finishing, why we know, and what the operator does next. */
function interruptedLine(report: StatusReport): string | undefined {
  const run = report.interrupted;
  if (!run) return undefined;
  const { inDoubt, interrupted } = report.counts;
  const next =
    inDoubt > 0
      ? `${inDoubt} step${inDoubt === 1 ? ' needs' : 's need'} your decision (IN_DOUBT below): check what ${inDoubt === 1 ? 'it' : 'each'} did, then \`upgradekit resolve TASK --applied\` (it took effect) or \`--retry\` (it did not), and run again.`
      : interrupted > 0
        ? `Its step${interrupted === 1 ? ' resumes' : 's resume'} by itself: run again.`
        : 'Run again to finish.';
  return `  INTERRUPTED: run ${run.runId} (${run.host}, pid ${run.pid}) stopped without finishing — ${run.why}. ${next}`;
}

export function statusLines(report: StatusReport): string[] {
  const c = report.counts;
  // Ids are per version: where one repeats, the version tells the two apart.
  const repeats = idRepeats(report.steps);
  const lines = [
    `${report.component} ${report.from} → ${report.to} on site ${report.site}: ${c.done} done, ${c.pending} pending, ${c.failed} failed, ${c.skipped} skipped, ${c.inDoubt} in doubt${c.interrupted ? `, ${c.interrupted} interrupted` : ''}${c.running ? `, ${c.running} running` : ''}`,
  ];
  const interrupted = interruptedLine(report);
  if (interrupted) lines.push(interrupted);
  const lock = report.lock;
  if (lock) {
    lines.push(
      `  lock: run ${lock.runId} (${lock.host}, pid ${lock.pid}) since ${iso(lock.acquiredAt)}, last heartbeat ${iso(lock.heartbeatAt)}: ${LIVENESS[lock.liveness.state]} — ${lock.liveness.reason}; ${lock.takeover}`,
    );
  }
  if (report.lastRun) {
    const recorded =
      report.interrupted?.runId === report.lastRun.runId && report.lastRun.status === 'running'
        ? 'interrupted (recorded as running)'
        : report.lastRun.status;
    lines.push(`  last run ${report.lastRun.runId}: ${recorded}, started ${iso(report.lastRun.startedAt)}`);
  }
  for (const s of report.steps) {
    // A crash leaves no error behind, and a step in doubt may still carry an older attempt's:
    // for both, what the next run does with it, and why, is the news.
    const why =
      s.status === 'interrupted'
        ? `resumes by itself (${s.next.reason})`
        : s.status === 'in_doubt'
          ? s.next.reason
          : s.error;
    const line = why?.split('\n')[0];
    // Progress the reason already names is not said twice.
    const progress = s.progress && !line?.includes(s.progress) ? ` — ${s.progress}` : '';
    lines.push(
      `  ${s.status.toUpperCase().padEnd(11)} ${s.stage.padEnd(13)} ${s.id}${repeats(s) ? ` (version ${s.version})` : ''}${s.host ? ` on ${s.host}` : ''}${s.registered === false ? ' (not in the release: a hook or rollout of the program that ran it)' : ''}${progress}${line ? ` — ${line}` : ''}`,
    );
  }
  return lines;
}

export function resolveResult(
  task: string,
  decision: ResolveDecision,
  resolved: { readonly message: string } & Record<string, unknown>,
): CommandResult {
  const label = decision.kind === 'from' ? `from statement ${decision.position}` : decision.kind;
  // The step's own words, which `status` shows too.
  const line = `${task}: resolved as ${label} — ${resolved.message}`;
  return commandResult({
    command: 'resolve',
    status: 'resolved',
    exitClass: 'ok',
    document: { resolved },
    text: [line],
    markdown: `### ✅ ${line}\n`,
  });
}

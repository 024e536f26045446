// `plan`: which tasks an upgrade runs, per stage, and its mode.
import { isAbsolute, relative } from 'node:path';
import type { StageName } from '../model/index.js';
import { stageLabel } from '../model/internal.js';
import type { Plan } from '../plan/index.js';
import { formatPlanMarkdown } from '../plan/internal.js';
import type { Release, Task } from '../release/index.js';
import { type CommandResult, commandResult } from './result.js';

/** A task as a report shows it: paths relative to the release, no checksums. */
export function describeTask(release: Release, task: Task) {
  return {
    id: task.id,
    version: task.version,
    kind: task.kind,
    stage: task.stage,
    ...(task.datasource ? { datasource: task.datasource } : {}),
    ...(task.file ? { file: relative(release.dir, task.file) } : {}),
    ...(task.package
      ? { package: isAbsolute(task.package) ? relative(release.dir, task.package) : task.package }
      : {}),
    ...(task.command ? { command: task.command } : {}),
    ...(task.description ? { description: task.description } : {}),
  };
}

export function planDocument(release: Release, plan: Plan) {
  return {
    component: plan.component,
    from: plan.from,
    to: plan.to,
    ...(plan.site ? { site: plan.site } : {}),
    mode: plan.mode,
    tasks: plan.tasks.map((t) => describeTask(release, t)),
    stages: Object.fromEntries(
      Object.entries(plan.stages).map(([stage, tasks]) => [
        stage,
        tasks.map((t) => describeTask(release, t)),
      ]),
    ),
    incompatible: plan.incompatible,
    excluded: plan.excluded,
    orderWarnings: plan.orderWarnings,
  };
}

export function planLines(release: Release, plan: Plan): string[] {
  const lines = [
    `${plan.component} ${plan.from} → ${plan.to}${plan.site ? ` on site ${plan.site}` : ''}: ${plan.tasks.length} task${plan.tasks.length === 1 ? '' : 's'}, ${plan.mode} mode`,
  ];
  for (const [stage, tasks] of Object.entries(plan.stages)) {
    if (tasks.length === 0) continue;
    lines.push(`  ${stageLabel(stage as StageName)}`);
    for (const t of tasks) {
      const d = describeTask(release, t);
      lines.push(
        `    ${d.version.padEnd(10)} ${d.id.padEnd(28)} ${d.kind.padEnd(10)} ${d.datasource ?? ''}  ${d.file ?? d.package ?? d.command?.join(' ') ?? ''}`,
      );
    }
  }
  if (plan.incompatible.length > 0) {
    lines.push(`  why ${plan.mode === 'stop' ? 'the services must stop' : 'this needs attention'}:`);
    for (const i of plan.incompatible) {
      lines.push(
        `    - ${i.id} (${i.version}): ${i.reason}${i.needsConfirmation ? '  [needs confirmation]' : ''}`,
      );
    }
  }
  if (plan.orderWarnings.length > 0) {
    lines.push("  WARNING — tasks run ahead of older versions' work they may need (run asks for --yes):");
    for (const w of plan.orderWarnings) lines.push(`    - ${w.message}`);
  }
  if (plan.excluded.length > 0) {
    lines.push('  left out on this site:');
    for (const e of plan.excluded) lines.push(`    - ${e.id} (${e.version}): ${e.reason}`);
  }
  return lines;
}

/** Where the site's backup goes: a step of every run, though not a task of the release. */
export interface BackupWhere {
  readonly root: string;
  readonly host?: string;
}

export function planResult(release: Release, plan: Plan, backup?: BackupWhere): CommandResult {
  const [header, ...rest] = planLines(release, plan);
  const backupLine = backup
    ? `preUpgrade begins with a verified backup to ${backup.root}${backup.host ? ` on ${backup.host}` : ''} (site configuration)`
    : undefined;
  const markdown = formatPlanMarkdown(release, plan);
  return commandResult({
    command: 'plan',
    status: 'planned',
    exitClass: 'ok',
    mode: plan.mode,
    document: { plan: planDocument(release, plan), ...(backup ? { backup } : {}) },
    text: [header as string, ...(backupLine ? [`  ${backupLine}`] : []), ...rest],
    markdown: backupLine ? markdown.replace('\n\n', `\n\n${backupLine}.\n\n`) : markdown,
  });
}

import { isAbsolute, relative } from 'node:path';
import type { Release } from '../release/index.js';
import { markdownCell } from '../stages/internal.js';
import type { Plan } from './plan.js';

/**
 * A plan as Markdown for a CI job summary or a change ticket: mode, tasks per stage, and why the
 * upgrade must stop (or what needs confirmation).
 *
 * @example
 * writeFileSync('plan.md', formatPlanMarkdown(release, plan({ release, from, to, site })));
 */
export function formatPlanMarkdown(release: Release, plan: Plan): string {
  const rows = Object.entries(plan.stages).flatMap(([stage, tasks]) =>
    tasks.map(
      (t) =>
        `| ${stage} | ${markdownCell(t.version)} | ${markdownCell(t.id)} | ${t.kind} | ${markdownCell(t.datasource ?? '')} | ${markdownCell(t.file ? relative(release.dir, t.file) : t.package && isAbsolute(t.package) ? relative(release.dir, t.package) : (t.package ?? t.command?.join(' ') ?? ''))} |`,
    ),
  );
  const lines = [
    `### Plan: ${markdownCell(plan.component)} ${plan.from} → ${plan.to}${plan.site ? ` on site ${markdownCell(plan.site)}` : ''} — ${plan.mode} mode, ${plan.tasks.length} task${plan.tasks.length === 1 ? '' : 's'}`,
    '',
  ];
  if (rows.length > 0) {
    lines.push(
      '| stage | version | task | kind | datasource | runs |',
      '| --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
    );
  }
  if (plan.incompatible.length > 0) {
    lines.push(plan.mode === 'stop' ? '**Why the services must stop:**' : '**Needs attention:**', '');
    for (const i of plan.incompatible) {
      lines.push(
        `- \`${markdownCell(i.id)}\` (${i.version}): ${markdownCell(i.reason)}${i.needsConfirmation ? ' — _needs confirmation_' : ''}`,
      );
    }
    lines.push('');
  }
  if (plan.orderWarnings.length > 0) {
    lines.push(
      "**⚠️ Tasks run ahead of older versions' work they may need** (a run asks for confirmation):",
      '',
    );
    for (const w of plan.orderWarnings) lines.push(`- ${markdownCell(w.message)}`);
    lines.push('');
  }
  if (plan.excluded.length > 0) {
    lines.push('**Left out on this site:**', '');
    for (const e of plan.excluded)
      lines.push(`- \`${markdownCell(e.id)}\` (${e.version}): ${markdownCell(e.reason)}`);
    lines.push('');
  }
  return lines.join('\n');
}

import { basename } from 'node:path';
import type { Plan } from '../plan/index.js';
import type { ResolvedAssessOptions } from './options.js';
import { sectionStatus } from './status.js';
import type { CheckResult, CompatibilitySection, IncompatibleEntry } from './types.js';

const LIST_AT_MOST = 20;

/**
 * Compatibility section (seed 001 §5.2.3), from the plan: rolling or stop mode and each item that
 * forces the stop. A task without a `compatibleFrom` annotation counts as incompatible and asks
 * for confirmation (a warning); a stop the operator ruled out (`expectMode: 'rolling'`) fails.
 */
export function assessCompatibility(hops: readonly Plan[], o: ResolvedAssessOptions): CompatibilitySection {
  const incompatible: IncompatibleEntry[] = [];
  hops.forEach((plan, hop) => {
    for (const item of plan.incompatible) {
      const task = plan.tasks.find((t) => t.id === item.id && t.version === item.version);
      incompatible.push({
        item: task?.file ? basename(task.file) : item.id,
        kind: task?.kind ?? 'task',
        version: item.version,
        ...(item.compatibleFrom ? { compatibleFrom: item.compatibleFrom } : {}),
        reason: item.reason,
        needsConfirmation: item.needsConfirmation,
        ...(hops.length > 1 ? { hop } : {}),
        origin: 'release',
      });
    }
  });
  let pluginsRoll = true;
  for (const p of o.plugins) {
    if (!p.compatibility) continue;
    if (!p.compatibility.rollingCompatible) pluginsRoll = false;
    for (const item of p.compatibility.incompatible) {
      incompatible.push({
        item: item.item,
        kind: item.kind ?? 'plugin',
        ...(item.compatibleFrom ? { compatibleFrom: item.compatibleFrom } : {}),
        reason: item.reason,
        needsConfirmation: false,
        origin: p.name,
      });
    }
  }
  const mode = hops.every((h) => h.mode === 'rolling') && pluginsRoll ? 'rolling' : 'stop';
  const checks: CheckResult[] = [];
  const forced = incompatible.filter((i) => !i.needsConfirmation);
  const names = (items: readonly IncompatibleEntry[]) =>
    items
      .slice(0, LIST_AT_MOST)
      .map((i) => i.item)
      .join(', ') + (items.length > LIST_AT_MOST ? `, … (${items.length} in all)` : '');
  checks.push({
    id: 'compatibility.mode',
    title: 'Upgrade mode',
    status: mode === 'stop' && o.expectMode === 'rolling' ? 'fail' : 'pass',
    detail:
      mode === 'rolling'
        ? `rolling upgrade without downtime: every item is compatible with the running version`
        : `stop-mode upgrade: services must be stopped${forced.length ? ` for ${forced.length} incompatible item${forced.length === 1 ? '' : 's'} (${names(forced)})` : ''}`,
    ...(mode === 'stop' && o.expectMode === 'rolling'
      ? {
          suggestion:
            'Plan a maintenance window for a stop-mode upgrade, or upgrade first to a version the items are compatible with.',
        }
      : {}),
    data: { mode, incompatible: incompatible.length },
  });
  const unannotated = incompatible.filter((i) => i.needsConfirmation);
  if (unannotated.length > 0) {
    checks.push({
      id: 'compatibility.unannotated',
      title: 'Items without a compatible version',
      status: 'warn',
      detail: `${unannotated.length} item${unannotated.length === 1 ? ' has' : 's have'} no compatibleFrom and count as incompatible: ${names(unannotated)}`,
      suggestion:
        'Confirm a stop-mode upgrade, or annotate the tasks with compatibleFrom (compatible_version).',
      data: { items: unannotated.map((i) => i.item) },
    });
  }
  const order = hops.flatMap((h) => h.orderWarnings);
  if (order.length > 0) {
    checks.push({
      id: 'compatibility.stageOrder',
      title: 'Task order across versions',
      status: 'warn',
      detail: `${order.length} task${order.length === 1 ? ' runs' : 's run'} ahead of older versions' work ${order.length === 1 ? 'it' : 'they'} may need: ${order.map((w) => w.message).join('; ')}`,
      suggestion:
        'Move the older work to the same or an earlier stage, or drop the override, in the release; or upgrade one version at a time; or confirm this order.',
      data: { tasks: order.map((w) => ({ ...w.task, runsBefore: w.runsBefore })) },
    });
  }
  return { status: sectionStatus(checks), checks, mode, incompatible };
}

// A step in doubt, for the operator: what is in doubt and the command per decision.
import type { StepResult } from '../stages/index.js';
import { resolveCommand } from './next.js';
import type { NextCommand } from './result.js';
import { pasteable } from './result.js';
import type { RunContext } from './run-context.js';

/**
 * What an operator must decide about a step in doubt, said once: the step's end line showed the
 * first line of its message (what is in doubt); here comes the rest (why, and what each decision
 * does), then the command per decision.
 */
export function decision(step: StepResult, ctx: RunContext): { lines: string[]; commands: NextCommand[] } {
  const [headline = '', ...rest] = (step.error?.message ?? '').split('\n');
  const head = `An operator must decide about ${step.id}: ${rest.length > 0 ? rest.join('\n') : headline}`;
  const target = {
    id: step.id,
    ...(step.host ? { host: step.host } : {}),
    ...(ctx.repeats(step) ? { version: step.version } : {}),
  };
  // A step says which decisions fit (an edited file: start again, or continue at a statement).
  const context = (step.error as { context?: { decisions?: unknown; next?: unknown } } | undefined)?.context;
  const decisions = Array.isArray(context?.decisions)
    ? (context.decisions as string[])
    : ['applied', 'retry'];
  if (decisions.includes('restart')) {
    const position = typeof context?.next === 'number' ? context.next : 1;
    const restart = resolveCommand(
      target,
      'restart',
      ctx.input,
      `you restored or cleaned up what ${step.id} did`,
    );
    const from = resolveCommand(target, { from: position }, ctx.input, 'continue at a statement you choose');
    return {
      lines: [
        head,
        `If you restored or cleaned up what ${step.id} did: ${pasteable(restart)}`,
        `Or, to continue at a statement you choose: ${pasteable(from)}`,
        'Then run again.',
      ],
      commands: [restart, from],
    };
  }
  const applied = resolveCommand(target, 'applied', ctx.input, `${step.id} took effect`);
  const retry = resolveCommand(target, 'retry', ctx.input, `${step.id} did not take effect`);
  return {
    lines: [
      head,
      `If ${step.id} took effect: ${pasteable(applied)}`,
      `If it did not: ${pasteable(retry)}`,
      'Then run again.',
    ],
    commands: [applied, retry],
  };
}

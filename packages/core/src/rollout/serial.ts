import { z } from 'zod';
import { anObject, checkArguments } from '../options/index.js';

/** A batch size: a number of hosts, or a percentage of all hosts (`'20%'`). */
export type BatchSize = number | `${number}%`;
/** Ansible's `serial`: one size for every batch, or a list whose last entry repeats. */
export type Serial = BatchSize | readonly BatchSize[];

const SIZE_MESSAGE = "must be a whole number of hosts (1 or more) or a percentage such as '20%'";

function sizeProblem(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 1 ? undefined : SIZE_MESSAGE;
  if (typeof value !== 'string' || !/^\d+(\.\d+)?%$/.test(value)) return SIZE_MESSAGE;
  const percent = Number.parseFloat(value);
  return percent > 0 && percent <= 100 ? undefined : 'a percentage must be above 0% and at most 100%';
}

/** Checked by hand rather than by a zod union, so the error names the exact entry that is wrong. */
export const serialSchema = z.custom<Serial>().superRefine((value, ctx) => {
  if (!Array.isArray(value)) {
    const problem = sizeProblem(value);
    if (problem)
      ctx.addIssue({ code: 'custom', message: `${problem}, or a list of them such as [1, '20%', '100%']` });
    return;
  }
  if (value.length === 0)
    ctx.addIssue({
      code: 'custom',
      message: "must list at least one batch size, such as [1, '20%', '100%']",
    });
  value.forEach((entry, index) => {
    const problem = sizeProblem(entry);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [index] });
  });
});

/** Hosts in a batch of this size, out of `total`: percentages round down, but never below 1 (as Ansible). */
function resolveSize(size: BatchSize, total: number): number {
  if (typeof size === 'number') return size;
  return Math.max(1, Math.floor((total * Number.parseFloat(size)) / 100));
}

/**
 * Splits hosts into batches the way Ansible's `serial` does: percentages are of all hosts, the
 * last size repeats until every host is in a batch. `[1, '20%', '50%', '100%']` over 10 hosts gives
 * batches of 1, 2, 5 and 2.
 *
 * @example
 * planBatches(['a', 'b', 'c', 'd'], [1, '50%']); // [['a'], ['b', 'c'], ['d']]
 */
export function planBatches<T>(items: readonly T[], serial: Serial): T[][] {
  checkArguments(
    'planBatches',
    {
      items: z.array(z.unknown(), 'must be the hosts, an array'),
      serial: z
        .unknown()
        .refine((s) => s !== undefined, 'must be a batch size or a list of them (1, "25%", [1, "50%"])'),
    },
    { items, serial },
  );
  const sizes = [serial].flat() as BatchSize[];
  const batches: T[][] = [];
  let next = 0;
  for (let i = 0; next < items.length; i++) {
    const size = resolveSize(sizes[Math.min(i, sizes.length - 1)]!, items.length);
    batches.push(items.slice(next, next + size));
    next += size;
  }
  return batches;
}

import { z } from 'zod';
import { anObject, checkArguments } from '../options/index.js';
import { checkCall } from './protocol.js';

/** What running a plugin's method needs, checked before the plugin is loaded or anything runs. */
export function checkRunArguments(where: string, plugin: unknown, method: unknown, context: unknown): void {
  checkArguments(
    where,
    {
      plugin: z.union(
        [z.string().min(1), anObject('a plugin')],
        'must be a plugin or its package name or path',
      ),
    },
    { plugin },
  );
  checkCall(where, method, context);
}

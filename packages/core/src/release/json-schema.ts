import { z } from 'zod';
import { manifestSchema, tasksFileSchema } from './schema.js';

/**
 * The JSON Schemas editors use to complete `upgradekit.yaml` and `tasks.yaml`, generated from the
 * same zod schemas that validate them, so the two cannot drift. Shipped in `schema/`.
 */
export function releaseJsonSchemas(): { manifest: unknown; tasks: unknown } {
  const manifest = z.toJSONSchema(manifestSchema, { io: 'input' }) as Record<string, unknown>;
  const tasks = z.toJSONSchema(tasksFileSchema, { io: 'input' }) as Record<string, unknown>;
  return {
    manifest: {
      ...manifest,
      $id: 'https://upgradekit.dev/schema/upgradekit.schema.json',
      title: 'upgradekit.yaml',
    },
    tasks: {
      ...tasks,
      $id: 'https://upgradekit.dev/schema/tasks.schema.json',
      title: 'versions/<version>/tasks.yaml',
    },
  };
}

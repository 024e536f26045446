// The Rollback's options, apart from the class: the context and the runner read the validated
// shape without importing the class that drives them.
import { posix } from 'node:path';
import { z } from 'zod';
import type { EventSink } from '../events/index.js';
import type { SshSession } from '../remote/index.js';
import { StateStore } from '../state/index.js';
import type { DatabaseSpec } from './databases.js';
import type { BackupHost } from './host.js';
import type { RollbackHook } from './rollback-types.js';

const fn = z.custom<RollbackHook>((v) => typeof v === 'function', 'must be a function');

export const rollbackOptionsSchema = z
  .object({
    state: z.custom<StateStore>((v) => v instanceof StateStore, 'must be an open StateStore'),
    component: z.string().min(1),
    site: z.string().default(''),
    /** The directory holding `backup_<timestamp>/` (on `host` when remote). */
    root: z.string().refine((p) => posix.isAbsolute(p), 'must be an absolute path'),
    host: z.custom<BackupHost>((v) => typeof (v as BackupHost)?.run === 'function').optional(),
    session: z.custom<SshSession>((v) => typeof (v as SshSession)?.exec === 'function').optional(),
    /** Credentials for restoring, matched to the backup's databases by engine and name. */
    databases: z.array(z.custom<DatabaseSpec>()).default([]),
    /** When given, the backup's program directory must be this one. */
    programDir: z
      .string()
      .refine((p) => posix.isAbsolute(p), 'must be an absolute path')
      .optional(),
    hooks: z.object({ stopServices: fn, startServices: fn, verify: fn }).partial().default({}),
    events: z.custom<EventSink>((v) => typeof (v as EventSink)?.emit === 'function').optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
    /** Seed 004 §4.4.2.1's confirmation countdown; skipped with `yes` or under CI. Default 5000. */
    countdownMs: z.number().int().nonnegative().default(5000),
    yes: z.boolean().default(false),
    /** Default: `process.env.CI === 'true'`. */
    ci: z.boolean().optional(),
    /** Restore database, program directory and config at once (default) or one after another. */
    parallel: z.boolean().default(true),
  })
  .strict();

export type RollbackOptions = z.input<typeof rollbackOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ValidRollbackOptions = z.output<typeof rollbackOptionsSchema>;

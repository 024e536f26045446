import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import type { RollbackRecord } from '../state/index.js';
import { removeAsides } from './asides.js';
import type { ValidDatabaseSpec } from './databases.js';
import type { BackupManifest, DatabaseBackupFile } from './manifest.js';
import {
  type RestoreTarget,
  restoreConfig,
  restoreDatabase,
  restoreProgramDir,
  verifyRestored,
} from './restore.js';
import type { RollbackHookContext, RollbackHooks } from './rollback-types.js';

export interface StepInput {
  /** As the history has it when the step starts: step 6 reads what steps 2–4 kept aside. */
  readonly record: RollbackRecord;
  readonly manifest: BackupManifest;
  readonly step: number;
  /** What the step saved in an earlier, interrupted attempt. */
  readonly progress: string | undefined;
  readonly target: RestoreTarget;
  readonly hooks: RollbackHooks;
  readonly databases: () => { entry: DatabaseBackupFile; spec: ValidDatabaseSpec }[];
  saveProgress(progress: string): Promise<unknown>;
  log(message: string): void;
  readonly events: EventSink;
  readonly signal?: AbortSignal;
}

/**
 * The backup's databases with the credentials to restore them: the caller's spec for the same
 * database and engine family, or else what the manifest recorded (no password).
 */
export function databasesOf(
  manifest: BackupManifest,
  given: readonly ValidDatabaseSpec[],
): { entry: DatabaseBackupFile; spec: ValidDatabaseSpec }[] {
  const family = (e: string) => (e === 'postgres' || e === 'clickhouse' ? e : 'mysql');
  return Object.entries(manifest.backup_files).flatMap(([item, entry]) => {
    if (entry.kind !== 'database') return [];
    const match = given.find(
      (g) => g.database === entry.database && family(g.engine) === family(entry.engine),
    );
    const spec: ValidDatabaseSpec = match
      ? { ...match, name: item }
      : {
          name: item,
          engine: entry.engine,
          database: entry.database,
          ...(entry.host ? { host: entry.host } : {}),
          ...(entry.port ? { port: entry.port } : {}),
          ...(entry.user ? { user: entry.user } : {}),
        };
    return [{ entry, spec }];
  });
}

/** The work of step `n`. Resolves with a reason when the step had nothing to do. */
export async function performStep(input: StepInput): Promise<string | undefined> {
  const { record, manifest, step: n, progress, target, hooks } = input;
  const ctx: RollbackHookContext = {
    rollbackId: record.rollbackId,
    backupId: record.backupId,
    manifest,
    host: target.host,
    mode: record.mode,
    step: n,
    signal: input.signal ?? new AbortController().signal,
    events: input.events,
  };
  const entries = Object.values(manifest.backup_files);
  switch (n) {
    case 1:
      if (!hooks.stopServices) return 'no stopServices hook was given';
      await hooks.stopServices(ctx);
      return undefined;
    case 2: {
      if (record.mode === 'compatible') return 'compatible rollback: the data is kept';
      const databases = input.databases();
      if (databases.length === 0) return 'the backup has no database';
      const done: Record<string, string> = progress ? JSON.parse(progress) : {};
      for (const { entry, spec } of databases) {
        await restoreDatabase(target, entry, spec, {
          progress: done[spec.name],
          save: async (value) => {
            done[spec.name] = value;
            await input.saveProgress(JSON.stringify(done));
          },
        });
      }
      return undefined;
    }
    case 3: {
      const entry = entries.find((e) => e.kind === 'program_directory');
      if (entry?.kind !== 'program_directory') return 'the backup has no program directory';
      await restoreProgramDir(target, entry, { progress, save: input.saveProgress });
      return undefined;
    }
    case 4: {
      const entry = entries.find((e) => e.kind === 'system_config');
      if (entry?.kind !== 'system_config') return 'the backup has no system configuration';
      await restoreConfig(target, entry, { progress, save: input.saveProgress });
      return undefined;
    }
    case 5:
      if (!hooks.startServices) return 'no startServices hook was given';
      await hooks.startServices(ctx);
      return undefined;
    default: {
      const databases = record.mode === 'full' ? input.databases() : [];
      const problems = await verifyRestored(target, databases);
      if (problems.length)
        throw new UpgradeKitError(ErrorCodes.ROLLBACK_FAILED, `verification failed: ${problems.join('; ')}`);
      if (hooks.verify) await hooks.verify(ctx);
      // Only now is the restored state known good: the copies kept aside can go.
      const removed = await removeAsides(
        target.host,
        record,
        manifest,
        input.databases().map((d) => d.spec),
      );
      if (removed.length)
        input.log(
          `rollback ${record.rollbackId} verified; removed pre-rollback copies: ${removed.join(', ')}`,
        );
      return undefined;
    }
  }
}

import { hostname } from 'node:os';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { nullSink } from '../events/bus.js';
import type { EventSink } from '../events/types.js';
import type { StateStore } from './store.js';

export interface LockHolder {
  readonly runId: string;
  readonly host: string;
  readonly pid: number;
  readonly acquiredAt: number;
  readonly heartbeatAt: number;
  readonly ttlMs: number;
}

export interface AcquireLockOptions {
  readonly component: string;
  readonly site: string;
  readonly runId: string;
  /** A holder silent for this long is presumed dead. Default 60 s. */
  readonly ttlMs?: number;
  readonly events?: EventSink;
  /** Called when the heartbeat finds the lock taken away; the run must stop. */
  readonly onLost?: (error: UpgradeKitError) => void;
}

const DUPLICATE = /UNIQUE constraint failed|ER_DUP_ENTRY|Duplicate entry|duplicate key value|23505/i;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeHolder(holder: LockHolder): string {
  return `run ${holder.runId} on ${holder.host} (pid ${holder.pid}) since ${new Date(holder.acquiredAt).toISOString()}, last heartbeat ${new Date(holder.heartbeatAt).toISOString()}`;
}

/**
 * One active run per (component, site): a row in `upgradekit_locks` with owner, heartbeat and TTL,
 * which works the same on SQLite, MariaDB/MySQL and PostgreSQL. Taking over is a conditional
 * update on the old owner's row, so of two runners racing for a stale lock exactly one wins.
 */
type LockOptions = AcquireLockOptions & { readonly ttlMs: number };

export class SiteLock {
  readonly #store: StateStore;
  readonly #options: LockOptions;
  #timer: NodeJS.Timeout | undefined;
  #released = false;
  #beating = false;

  private constructor(store: StateStore, options: LockOptions) {
    this.#store = store;
    this.#options = options;
  }

  /**
   * Takes the lock or throws `UPGRADEKIT_LOCKED` naming the holder. A stale lock — its holder's
   * heartbeat older than its TTL, or its process gone from this machine — is taken over, and the
   * takeover is logged.
   */
  static async acquire(store: StateStore, options: AcquireLockOptions): Promise<SiteLock> {
    const ttlMs = options.ttlMs ?? 60_000;
    const lock = new SiteLock(store, { ...options, ttlMs });
    await lock.#take();
    lock.#startHeartbeat();
    return lock;
  }

  static async holder(store: StateStore, component: string, site: string): Promise<LockHolder | undefined> {
    const row = await store.knex('upgradekit_locks').where({ component, site }).first();
    if (!row) return undefined;
    return {
      runId: String(row.run_id),
      host: String(row.host),
      pid: Number(row.pid),
      acquiredAt: Number(row.acquired_at),
      heartbeatAt: Number(row.heartbeat_at),
      ttlMs: Number(row.ttl_ms),
    };
  }

  async #take(): Promise<void> {
    const { component, site, runId, ttlMs } = this.#options;
    const events = this.#options.events ?? nullSink;
    const me = { run_id: runId, host: hostname(), pid: process.pid, ttl_ms: ttlMs };
    for (let attempt = 0; attempt < 5; attempt++) {
      const now = Date.now();
      try {
        await this.#store
          .knex('upgradekit_locks')
          .insert({ component, site, ...me, acquired_at: now, heartbeat_at: now });
        return;
      } catch (error) {
        if (!DUPLICATE.test(String((error as Error).message ?? error))) throw error;
      }
      const holder = await SiteLock.holder(this.#store, component, site);
      if (!holder) continue; // released between our insert and our read: try again
      const silentFor = now - holder.heartbeatAt;
      const gone = holder.host === hostname() && holder.pid !== process.pid && !alive(holder.pid);
      if (!gone && silentFor <= holder.ttlMs) {
        throw new UpgradeKitError(
          ErrorCodes.LOCKED,
          `Site "${site}" of ${component} is being upgraded by ${describeHolder(holder)}. Wait for it to finish, or stop it; a dead holder's lock is taken over after its TTL of ${holder.ttlMs} ms.`,
          { context: { component, site, holder } },
        );
      }
      const taken = await this.#store
        .knex('upgradekit_locks')
        .where({ component, site, run_id: holder.runId, heartbeat_at: holder.heartbeatAt })
        .update({ ...me, acquired_at: now, heartbeat_at: now });
      if (taken === 1) {
        events.emit({
          type: 'log',
          level: 'warn',
          message: `took over the stale lock of site "${site}" from ${describeHolder(holder)} (${gone ? 'its process is gone' : `silent for ${silentFor} ms, TTL ${holder.ttlMs} ms`})`,
          fields: { component, site, previous: holder },
        });
        return;
      }
      // Someone else took it over first; look again.
    }
    const holder = await SiteLock.holder(this.#store, component, site);
    throw new UpgradeKitError(
      ErrorCodes.LOCKED,
      `Site "${site}" of ${component} is locked${holder ? ` by ${describeHolder(holder)}` : ''}; the lock changed hands while we tried to take it.`,
      { context: { component, site, holder } },
    );
  }

  #startHeartbeat(): void {
    const { component, site, runId, ttlMs } = this.#options;
    this.#timer = setInterval(
      () => {
        // One beat at a time: on a slow database two overlapping updates could both find the row
        // gone and report the loss twice.
        if (this.#beating) return;
        this.#beating = true;
        void this.#store
          .knex('upgradekit_locks')
          .where({ component, site, run_id: runId })
          .update({ heartbeat_at: Date.now() })
          .then((updated: number) => {
            if (updated === 0 && !this.#released && this.#timer !== undefined) {
              this.#stopHeartbeat();
              this.#options.onLost?.(
                new UpgradeKitError(
                  ErrorCodes.LOCK_LOST,
                  `The lock of site "${site}" was taken by another runner while run ${runId} held it; stopping.`,
                  { context: { component, site, runId } },
                ),
              );
            }
          })
          .catch(() => {
            // A missed heartbeat is survivable; the TTL allows for a few.
          })
          .finally(() => {
            this.#beating = false;
          });
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    this.#timer.unref();
  }

  #stopHeartbeat(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stopHeartbeat();
    const { component, site, runId } = this.#options;
    await this.#store.knex('upgradekit_locks').where({ component, site, run_id: runId }).del();
  }
}

import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { anObject, checkArguments } from '../options/index.js';
import {
  type HolderLiveness,
  holderIdentity,
  holderLiveness,
  type ProcessIdentity,
  type ProcProbe,
  procProbe,
} from './liveness.js';
import type { StateStore } from './store.js';

export interface LockHolder extends ProcessIdentity {
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
  /** Tests only: who this process is, and how /proc/<pid>/stat is read. */
  readonly identity?: ProcessIdentity;
  readonly probe?: ProcProbe;
}

/** What a reader can say of a lock's holder: is it alive, and when is its lock taken over. */
export interface LockAssessment {
  readonly holder: LockHolder;
  readonly liveness: HolderLiveness;
  /** Silent past its TTL, or proven dead: the next acquire takes the lock over. */
  readonly stale: boolean;
  /** When the lock is taken over if the holder's heartbeat stops now (heartbeat + TTL), epoch ms. */
  readonly takeoverAt: number;
}

const DUPLICATE = /UNIQUE constraint failed|ER_DUP_ENTRY|Duplicate entry|duplicate key value|23505/i;

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => `${Math.max(0, Math.ceil(ms / 1000))} s`;

function describeHolder(holder: LockHolder): string {
  return `run ${holder.runId} on ${holder.host} (pid ${holder.pid}) since ${iso(holder.acquiredAt)}, last heartbeat ${iso(holder.heartbeatAt)}`;
}

/**
 * When a holder's lock is taken over, in the words `status` and the LOCKED message share: at once
 * when it is stale (proven dead, or its heartbeat past its TTL), else when its heartbeat would run
 * out.
 */
export function describeTakeover(a: LockAssessment, now: number = Date.now()): string {
  const { holder, liveness } = a;
  const ttl = `last heartbeat ${iso(holder.heartbeatAt)} + TTL ${seconds(holder.ttlMs)}`;
  if (liveness.state === 'dead') return 'the next run takes the lock over at once';
  if (a.stale) return `its heartbeat is past its TTL (${ttl}): the next run takes the lock over at once`;
  const when = `at ${iso(a.takeoverAt)} (in ${seconds(a.takeoverAt - now)}: ${ttl})`;
  return liveness.state === 'alive'
    ? `taken over only if its heartbeat stops, ${when} at the earliest`
    : `taken over if its heartbeat stops, ${when}`;
}

/**
 * The LOCKED message: who holds the site, whether its process is alive, dead or cannot be checked
 * from here, when the lock is taken over, and what to do.
 */
function lockedMessage(site: string, component: string, a: LockAssessment, now: number): string {
  const { holder, liveness } = a;
  const who = `Site "${site}" of ${component} is being upgraded by ${describeHolder(holder)} (${Math.max(0, Math.floor((now - holder.heartbeatAt) / 1000))} s ago).`;
  const when = `at ${iso(a.takeoverAt)} (in ${seconds(a.takeoverAt - now)}: last heartbeat + TTL ${seconds(holder.ttlMs)})`;
  switch (liveness.state) {
    case 'alive':
      return `${who} Its process is alive: ${liveness.reason}. The lock is taken over only if its heartbeat stops, ${when} at the earliest. Wait for run ${holder.runId} to finish, or stop it (pid ${holder.pid} on ${holder.host}) and run again.`;
    case 'unknown':
      return `${who} Whether its process is alive cannot be proven from here: ${liveness.reason}. So only its heartbeat decides: if it stops, the lock is taken over ${when}. If run ${holder.runId} is still going, wait for it or stop it on ${holder.host}; if you know it is dead, run again after that time.`;
    case 'dead':
      return `${who} Its process is dead (${liveness.reason}), but another runner took the lock over first; run again.`;
  }
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
   * Takes the lock or throws `UPGRADEKIT_LOCKED` naming the holder, whether it is alive, and when
   * its lock is taken over. A stale lock — its holder's heartbeat older than its TTL, or its process
   * proven dead (liveness.ts: same boot and PID namespace as us, and its pid gone, reused or a
   * zombie) — is taken over, and the takeover is logged.
   */
  static async acquire(store: StateStore, options: AcquireLockOptions): Promise<SiteLock> {
    checkArguments(
      'SiteLock.acquire',
      { store: anObject('a StateStore (StateStore.open)'), options: anObject('{ component, site, … }') },
      { store, options },
    );
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
      ...(row.boot_id != null ? { bootId: String(row.boot_id) } : {}),
      ...(row.pid_ns != null ? { pidNamespace: String(row.pid_ns) } : {}),
      ...(row.pid_start != null ? { startTime: Number(row.pid_start) } : {}),
    };
  }

  /**
   * Whether the holder of a site's lock is alive, dead or cannot be checked from this process, and
   * when its lock is taken over. Undefined when nobody holds it. For status and dry run.
   */
  static async assess(
    store: StateStore,
    component: string,
    site: string,
    options: { readonly identity?: ProcessIdentity; readonly probe?: ProcProbe; readonly now?: number } = {},
  ): Promise<LockAssessment | undefined> {
    const holder = await SiteLock.holder(store, component, site);
    if (!holder) return undefined;
    return assessHolder(
      holder,
      options.identity ?? holderIdentity(),
      options.probe ?? procProbe,
      options.now,
    );
  }

  async #take(): Promise<void> {
    const { component, site, runId, ttlMs } = this.#options;
    const events = this.#options.events ?? nullSink;
    const self = this.#options.identity ?? holderIdentity();
    const probe = this.#options.probe ?? procProbe;
    const me = {
      run_id: runId,
      host: self.host,
      pid: self.pid,
      ttl_ms: ttlMs,
      boot_id: self.bootId ?? null,
      pid_ns: self.pidNamespace ?? null,
      pid_start: self.startTime ?? null,
    };
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
      const assessment = assessHolder(holder, self, probe, now);
      const silentFor = now - holder.heartbeatAt;
      if (!assessment.stale) {
        throw new UpgradeKitError(ErrorCodes.LOCKED, lockedMessage(site, component, assessment, now), {
          context: {
            component,
            site,
            holder,
            liveness: assessment.liveness,
            takeoverAt: assessment.takeoverAt,
          },
        });
      }
      const taken = await this.#store
        .knex('upgradekit_locks')
        .where({ component, site, run_id: holder.runId, heartbeat_at: holder.heartbeatAt })
        .update({ ...me, acquired_at: now, heartbeat_at: now });
      if (taken === 1) {
        events.emit({
          type: 'log',
          level: 'warn',
          message: `took over the stale lock of site "${site}" from ${describeHolder(holder)} (${
            assessment.liveness.state === 'dead'
              ? `its process is dead: ${assessment.liveness.reason}`
              : `silent for ${silentFor} ms, TTL ${holder.ttlMs} ms; its process ${assessment.liveness.state === 'alive' ? 'is still there but stopped beating' : `cannot be checked: ${assessment.liveness.reason}`}`
          })`,
          fields: { component, site, previous: holder, liveness: assessment.liveness },
        });
        return;
      }
      // Someone else took it over first; look again.
    }
    const holder = await SiteLock.holder(this.#store, component, site);
    const now = Date.now();
    const assessment = holder ? assessHolder(holder, self, probe, now) : undefined;
    throw new UpgradeKitError(
      ErrorCodes.LOCKED,
      assessment
        ? `${lockedMessage(site, component, assessment, now)} (The lock changed hands while we tried to take it.)`
        : `Site "${site}" of ${component} was locked and released while we tried to take it; run again.`,
      {
        context: {
          component,
          site,
          holder,
          ...(assessment ? { liveness: assessment.liveness, takeoverAt: assessment.takeoverAt } : {}),
        },
      },
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

function assessHolder(
  holder: LockHolder,
  self: ProcessIdentity,
  probe: ProcProbe,
  now: number = Date.now(),
): LockAssessment {
  const liveness = holderLiveness(holder, self, probe);
  const takeoverAt = holder.heartbeatAt + holder.ttlMs;
  return { holder, liveness, stale: liveness.state === 'dead' || now > takeoverAt, takeoverAt };
}

// What createUpgrade accepts: the options' schema (validated once, at the edge) and their type.
import { z } from 'zod';
import { EventBus } from '../events/index.js';
import type {
  DatasourceMap,
  HookMap,
  HostInfo,
  SiteInfo,
  StageName,
  StepDefinition,
} from '../model/index.js';
import { type ProcessIdentity, type ProcProbe, type StateOptions, StateStore } from '../state/index.js';
import type { Defaults } from './normalize.js';

export const optionsSchema = z.object({
  component: z.string().min(1, 'must be a non-empty string').max(128),
  from: z.string().min(1, 'must be a version such as 2.16.5'),
  to: z.string().min(1, 'must be a version such as 2.16.7'),
  site: z.union([
    z.string().min(1).max(128),
    z.object({
      id: z.string().min(1, 'must be a non-empty string').max(128),
      name: z.string().optional(),
      env: z.record(z.string(), z.string()).optional(),
    }),
  ]),
  state: z
    .union([
      z.custom<StateStore>((v) => v instanceof StateStore),
      z.object({ filename: z.string().min(1) }),
      z.object({ config: z.object({}).loose() }),
      z.object({ knex: z.any() }),
    ])
    .optional(),
  datasources: z.record(z.string(), z.unknown()).default({}),
  hosts: z
    .array(
      z.object({
        name: z.string().min(1),
        address: z.string().optional(),
        port: z.number().int().min(1).max(65535).optional(),
        user: z.string().optional(),
        roles: z.array(z.string()).optional(),
        vars: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .default([]),
  hooks: z.record(z.string(), z.unknown()).default({}),
  steps: z.array(z.object({ stage: z.string() }).loose()).default([]),
  events: z.instanceof(EventBus).optional(),
  signal: z.instanceof(AbortSignal).optional(),
  handleSignals: z.boolean().default(false),
  lock: z
    .object({
      ttlMs: z.number().int().positive().optional(),
      identity: z.custom<ProcessIdentity>((v) => typeof v === 'object' && v !== null).optional(),
      probe: z.custom<ProcProbe>((v) => typeof v === 'function').optional(),
    })
    .default({}),
  defaults: z
    .object({
      timeoutMs: z
        .number()
        .positive()
        .default(60 * 60_000),
      retry: z
        .object({
          attempts: z.number().int().min(1).default(1),
          minDelayMs: z.number().nonnegative().default(1000),
          maxDelayMs: z.number().nonnegative().default(30_000),
          factor: z.number().min(1).default(2),
          jitter: z.boolean().default(true),
        })
        .default({ attempts: 1, minDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: true }),
    })
    .default({
      timeoutMs: 60 * 60_000,
      retry: { attempts: 1, minDelayMs: 1000, maxDelayMs: 30_000, factor: 2, jitter: true },
    }),
});

/** A step added with `upgrade.step()` or `steps: […]`, with the stage it belongs to. */
export type StagedStep<D extends DatasourceMap = DatasourceMap> = {
  [S in StageName]: StepDefinition<S, D> & { readonly stage: S };
}[StageName];

export interface UpgradeOptions<D extends DatasourceMap = DatasourceMap> {
  /** The component being upgraded; part of every step's identity. */
  readonly component: string;
  readonly from: string;
  readonly to: string;
  /** The site (局点) id, or its details. One run per component and site at a time. */
  readonly site: string | SiteInfo;
  /** Where state lives. Default: `.upgradekit/state.sqlite` under the working directory. */
  readonly state?: StateStore | StateOptions;
  /** The clients steps reach as `ctx.datasources`; their types become the steps' types. */
  readonly datasources?: D;
  readonly hosts?: readonly HostInfo[];
  readonly hooks?: HookMap<D>;
  readonly steps?: readonly StagedStep<D>[];
  /** Where events go. Default: a new bus, at `upgrade.events`. */
  readonly events?: EventBus;
  /** Cancels every run of this upgrade. */
  readonly signal?: AbortSignal;
  /** Abort the running step on SIGINT/SIGTERM, record it and release the lock. For CLIs. */
  readonly handleSignals?: boolean;
  readonly lock?: {
    readonly ttlMs?: number;
    /** Tests only: who this process is, and how `/proc/<pid>/stat` is read (state/liveness.ts). */
    readonly identity?: ProcessIdentity;
    readonly probe?: ProcProbe;
  };
  readonly defaults?: {
    readonly timeoutMs?: number;
    readonly retry?: Partial<Defaults['retry']>;
  };
}

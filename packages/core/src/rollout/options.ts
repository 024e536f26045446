import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { validateOptions } from '../options/index.js';
import { healthCheckSchema } from '../service/internal.js';
import { StateStore } from '../state/index.js';
import { type Serial, serialSchema } from './serial.js';
import type { HealthGate, RolloutOptions } from './types.js';

const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', `must be ${what}`);

const hostSchema = z.object({
  name: z
    .string()
    .min(1, 'must be a non-empty host name')
    .max(128, 'must be at most 128 characters (the host column)'),
  address: z.string().optional(),
  port: z.number().int().min(1).max(65535).optional(),
  roles: z.array(z.string()).optional(),
  vars: z.record(z.string(), z.unknown()).optional(),
});

const schema = z.object({
  id: z.string().min(1, 'must be a non-empty id such as "rollout:app"').max(191),
  component: z.string().min(1).max(128),
  site: z.string().min(1).max(128),
  from: z.string().min(1, 'must be a version'),
  to: z.string().min(1, 'must be a version'),
  state: z.custom<StateStore>((v) => v instanceof StateStore, 'must be a StateStore (StateStore.open(…))'),
  hosts: z.array(hostSchema).min(1, 'must list at least one host'),
  serial: serialSchema.default(1),
  roleOrder: z.array(z.string()).default([]),
  concurrency: z.number().int().min(1, 'must be at least 1').optional(),
  maxFailPercent: z
    .number()
    .min(0, 'must be between 0 and 100')
    .max(100, 'must be between 0 and 100')
    .default(0),
  upgrade: fn('a function (ctx) => … that upgrades one host'),
  healthGate: z
    .object({
      check: z.union([healthCheckSchema, fn('a health check or a function (host) => health check')]),
      passes: z.number().int().min(1, 'must be at least 1').default(3),
      intervalMs: z.number().nonnegative().default(1000),
      timeoutMs: z.number().positive().default(60_000),
    })
    .optional(),
  observeMs: z.number().nonnegative().default(0),
  connect: fn('a function (host, signal) => Promise<connection>').optional(),
  skipIf: fn('a function (ctx) => boolean').optional(),
  idempotent: z.boolean().default(false),
  probeVersion: fn('a function (ctx) => Promise<version>').optional(),
  verifyVersion: z.boolean().default(true),
  hostTimeoutMs: z
    .number()
    .positive()
    .default(60 * 60_000),
  lock: z.boolean().default(true),
  runId: z.string().min(1).max(64).optional(),
  stage: z.string().min(1).max(32).default('rollout'),
  events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

type Typed = 'upgrade' | 'healthGate' | 'connect' | 'skipIf' | 'probeVersion' | 'serial' | 'hosts' | 'events';
export type ResolvedOptions = Omit<z.output<typeof schema>, Typed> &
  Pick<RolloutOptions, 'upgrade' | 'connect' | 'skipIf' | 'probeVersion' | 'hosts' | 'events'> & {
    readonly serial: Serial;
    readonly healthGate?: HealthGate & { passes: number; intervalMs: number; timeoutMs: number };
  };

/** Validates everything before any host is touched: one precise error per problem. */
export function resolveOptions(options: RolloutOptions): ResolvedOptions {
  // Validated, but the caller's own host objects are what hooks receive: extra fields survive.
  const o = {
    ...validateOptions('rollout', schema, options),
    hosts: options.hosts,
  } as unknown as ResolvedOptions;
  const seen = new Set<string>();
  for (const host of o.hosts) {
    if (seen.has(host.name)) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `rollout: invalid options — \`hosts\`: host "${host.name}" is listed twice; host names are their identity in state and must be unique`,
        { context: { where: 'rollout', host: host.name } },
      );
    }
    seen.add(host.name);
  }
  // A check computed per host is computed now, for every host: a bad one is refused before the
  // first host's upgrade runs, not found at its gate with the host already changed.
  const gateCheck = o.healthGate?.check;
  const checks = !gateCheck
    ? []
    : typeof gateCheck === 'function'
      ? o.hosts.map((host) => {
          let check: unknown;
          try {
            check = (gateCheck as (h: typeof host) => unknown)(host);
          } catch (error) {
            throw new UpgradeKitError(
              ErrorCodes.BAD_INPUT,
              `rollout: invalid options — \`healthGate.check\` threw for host "${host.name}": ${describeError(error).message}`,
              { context: { where: 'rollout', host: host.name } },
            );
          }
          validateOptions(
            `rollout: healthGate.check(${JSON.stringify(host.name)})`,
            healthCheckSchema,
            check,
          );
          return check;
        })
      : [gateCheck];
  const needsRunner = checks.some((c) => typeof c === 'object' && c !== null && 'command' in c);
  if (needsRunner && !o.connect) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      'rollout: invalid options — `healthGate.check` runs a command on each host, which needs `connect` (host) => connection',
      { context: { where: 'rollout' } },
    );
  }
  return o;
}

import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../../errors/index.js';
import type { EventSink } from '../../events/index.js';
import { validateOptions } from '../../options/index.js';
import type { SshSessionOptions } from '../session.js';

export const managerSchema = z.object({
  /** `auto`: system scp for files of `scpMinBytes` and more, SFTP for smaller ones and as the fallback. */
  method: z.enum(['auto', 'scp', 'sftp']).default('auto'),
  /** The scp binary: a name looked up on PATH, or a path. */
  scpPath: z.string().min(1, 'must be a binary name or path').default('scp'),
  /**
   * Smaller files go over SFTP on the already open session (seed 004 §4.1.1: scp for large files,
   * SFTP for small ones): a new scp process and login per small file costs more than the copy.
   */
  scpMinBytes: z
    .number()
    .int('must be a whole number')
    .nonnegative('must be 0 or more')
    .default(1 << 20),
  /** Hosts served at once. */
  concurrency: z.number().int('must be a whole number').min(1, 'must be at least 1').default(4),
  /** Attempts per method for failures a retry can fix (seed 004 §4.1.4: 3). */
  attempts: z.number().int('must be a whole number').min(1, 'must be at least 1').default(3),
  retryDelayMs: z.number().nonnegative('must be 0 or more').default(1000),
  /** scp's ConnectTimeout (seed 004 §4.1.2: 30 s). */
  connectTimeoutMs: z.number().positive('must be a positive number').default(30_000),
  events: z
    .custom<EventSink>(
      (v) => typeof (v as EventSink | undefined)?.emit === 'function',
      'must have an emit() method',
    )
    .optional(),
  signal: z.instanceof(AbortSignal, { message: 'must be an AbortSignal' }).optional(),
});

export type TransferManagerOptions = z.input<typeof managerSchema>;
export type ManagerSettings = z.output<typeof managerSchema>;

export function parseManagerOptions(options: unknown): ManagerSettings {
  return validateOptions('TransferManager', managerSchema, options ?? {});
}

/** The fields every host needs before anything connects; SshSession.connect checks the rest. */
export function checkHosts(where: string, hosts: unknown, single = false): SshSessionOptions[] {
  const list = single ? [hosts] : hosts;
  if (!Array.isArray(list) || list.length === 0)
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${where}: \`hosts\` must be a non-empty array of SSH host options`,
    );
  list.forEach((host, index) => {
    const name = single ? '`host`' : `\`hosts[${index}]\``;
    const h = host as Partial<SshSessionOptions> | null;
    const problem =
      !h || typeof h !== 'object'
        ? 'must be an object with host and username'
        : typeof h.host !== 'string' || h.host.length === 0
          ? '.host must be a host name or address'
          : typeof h.username !== 'string' || h.username.length === 0
            ? '.username must be a user name'
            : h.port !== undefined && (!Number.isInteger(h.port) || h.port < 1 || h.port > 65535)
              ? `.port must be 1-65535 (got ${JSON.stringify(h.port)})`
              : undefined;
    if (problem)
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `${where}: ${name}${problem.startsWith('.') ? problem : ` ${problem}`}`,
        {
          context: { index },
        },
      );
  });
  return list as SshSessionOptions[];
}

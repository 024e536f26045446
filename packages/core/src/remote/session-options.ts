// SshSession's options and what exec takes and gives, apart from the session: the connect
// configuration and the exec stream read them without importing the class.
import { z } from 'zod';
import type { EventSink } from '../events/index.js';
import type { HostKeyOptions, HostKeyPolicy } from './known-hosts.js';
import { SSH_PORT } from './roles.js';

export const sessionOptionsSchema = z.object({
  host: z.string().min(1, 'must be a host name or address'),
  port: z.number().int().min(1).max(65535).default(SSH_PORT),
  username: z.string().min(1, 'must be a user name'),
  privateKey: z.union([z.string(), z.instanceof(Buffer)]).optional(),
  privateKeyPath: z.string().optional(),
  passphrase: z.string().optional(),
  password: z.string().optional(),
  /** An ssh-agent socket; default $SSH_AUTH_SOCK when no key or password is given. */
  agent: z.string().optional(),
  role: z.enum(['control', 'transfer', 'plugin', 'status']).default('control'),
  hostKeys: z
    .object({
      policy: z.enum(['strict', 'accept-new', 'off']).default('strict'),
      knownHostsPath: z.string().optional(),
    })
    .default({ policy: 'strict' }),
  keepaliveIntervalMs: z.number().positive().optional(),
  deadAfterMs: z.number().positive().optional(),
  reconnects: z.number().int().nonnegative().optional(),
  reconnectDelayMs: z.number().nonnegative().default(1000),
  readyTimeoutMs: z.number().positive().default(20_000),
  events: z.custom<EventSink>((v) => typeof (v as EventSink | undefined)?.emit === 'function').optional(),
  /** Gives up the first connect (an operator's Ctrl-C) instead of waiting out `readyTimeoutMs`. */
  signal: z.instanceof(AbortSignal).optional(),
});

export type SshSessionOptions = z.input<typeof sessionOptionsSchema>;

/** The options after validation, defaults filled in. */
export type ValidSessionOptions = z.output<typeof sessionOptionsSchema>;

/** The known_hosts check the options ask for: one shape for choosing key types and for verifying. */
export function hostKeyOptions(o: ValidSessionOptions): HostKeyOptions {
  return {
    policy: o.hostKeys.policy as HostKeyPolicy,
    ...(o.hostKeys.knownHostsPath ? { knownHostsPath: o.hostKeys.knownHostsPath } : {}),
  };
}

/** `user@host:port`, as every message names the connection. */
export function sessionLabel(o: Pick<ValidSessionOptions, 'username' | 'host' | 'port'>): string {
  return `${o.username}@${o.host}:${o.port}`;
}

export interface ExecOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Called with output as it arrives (streamed), besides being collected. */
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
  /** Collect at most this many bytes of each stream (the tail is kept). Default 1 MiB. */
  readonly maxBuffer?: number;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal?: string;
  readonly stdout: string;
  readonly stderr: string;
}

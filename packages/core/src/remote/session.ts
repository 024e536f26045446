import { readFileSync } from 'node:fs';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { z } from 'zod';
import { describeError, ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import type { EventSink } from '../events/index.js';
import { EventBus, nullSink } from '../events/index.js';
import { validateOptions } from '../options/index.js';
import { classifyError, retry, withTimeout } from '../resilience/index.js';
import { checkHostKey, type HostKeyPolicy, knownHostKeyAlgorithms } from './known-hosts.js';
import { remoteCommand } from './quote.js';
import { type ConnectionRole, ROLE_DEFAULTS } from './roles.js';

const optionsSchema = z.object({
  host: z.string().min(1, 'must be a host name or address'),
  port: z.number().int().min(1).max(65535).default(22),
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

export type SshSessionOptions = z.input<typeof optionsSchema>;

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

// The wrapper reports the remote shell's pid first, so an abort can kill exactly that process.
const PID_PREFIX = 'UPGRADEKIT_PID ';
const WRAPPER = `printf '${PID_PREFIX}%d\\n' $$ >&2; exec "$@"`;

/**
 * An SSH connection that survives long upgrades: host keys verified (known_hosts; accept-new on
 * request; `off` only explicitly and with a warning), keepalive by role, and automatic reconnects
 * with backoff after a drop — every drop and reconnect an event. Commands are argument vectors,
 * quoted for the remote shell in one place.
 *
 * @example
 * const ssh = await SshSession.connect({ host: '10.0.0.5', username: 'deploy', privateKeyPath: '~/.ssh/id_ed25519' });
 * const { stdout } = await ssh.exec(['df', '-P', '/opt/app']);
 * await ssh.close();
 */
export class SshSession {
  readonly host: string;
  readonly port: number;
  readonly #options: z.output<typeof optionsSchema>;
  readonly #events: EventSink;
  readonly #settings: { keepaliveIntervalMs: number; deadAfterMs: number; reconnects: number };
  #client: Client | undefined;
  #ready: Promise<void> = Promise.resolve();
  #closing = false;
  #lost: UpgradeKitError | undefined;
  #drops = 0;

  private constructor(options: z.output<typeof optionsSchema>) {
    this.#options = options;
    this.host = options.host;
    this.port = options.port;
    this.#events = options.events ?? nullSink;
    const role = ROLE_DEFAULTS[options.role as ConnectionRole];
    this.#settings = {
      keepaliveIntervalMs: options.keepaliveIntervalMs ?? role.keepaliveIntervalMs,
      deadAfterMs: options.deadAfterMs ?? role.deadAfterMs,
      reconnects: options.reconnects ?? role.reconnects,
    };
    // Secrets never reach an event, whatever a library error message quotes back.
    if (this.#events instanceof EventBus) {
      for (const secret of [options.password, options.passphrase]) if (secret) this.#events.addSecret(secret);
    }
  }

  /** Connects (with up to `reconnects` retries on network errors; none on auth or host-key errors). */
  static async connect(options: SshSessionOptions): Promise<SshSession> {
    const session = new SshSession(validateOptions('SshSession.connect', optionsSchema, options));
    if (session.#options.hostKeys.policy === 'off') {
      session.#events.emit({
        type: 'log',
        level: 'warn',
        host: session.host,
        message: `host key checking is OFF for ${session.host}:${session.port}: anyone on the network path can impersonate it`,
      });
    }
    session.#ready = session.#open(session.#options.signal);
    await session.#ready;
    return session;
  }

  /** How many times the connection dropped and came back. */
  get drops(): number {
    return this.#drops;
  }

  #label(): string {
    return `${this.#options.username}@${this.host}:${this.port}`;
  }

  /** `signal`: the first connect only; reconnects later are the session's own business. */
  async #open(signal?: AbortSignal): Promise<void> {
    await retry(() => this.#connectOnce(signal), {
      attempts: this.#settings.reconnects + 1,
      minDelayMs: this.#options.reconnectDelayMs,
      maxDelayMs: Math.max(this.#options.reconnectDelayMs, 30_000),
      step: `ssh ${this.#label()}`,
      host: this.host,
      events: this.#events,
      ...(signal ? { signal } : {}),
      classify: (error) =>
        signal?.aborted
          ? { decision: 'fail-now', reason: 'aborted' }
          : isUpgradeKitError(error, ErrorCodes.HOST_KEY)
            ? { decision: 'fail-now', reason: 'auth' }
            : classifyError(error),
    }).catch((error: unknown) => {
      if (signal?.aborted) {
        throw new UpgradeKitError(ErrorCodes.ABORTED, `connecting to ${this.#label()} was interrupted`, {
          cause: signal.reason,
          context: { host: this.host, port: this.port },
        });
      }
      const cause = error instanceof UpgradeKitError && error.cause ? error.cause : error;
      if (isUpgradeKitError(cause, ErrorCodes.HOST_KEY)) throw cause;
      throw new UpgradeKitError(
        ErrorCodes.SSH,
        `Cannot connect to ${this.#label()}: ${describeError(cause).message}`,
        {
          cause: error,
          context: { host: this.host, port: this.port, reason: classifyError(cause).reason },
        },
      );
    });
  }

  #connectConfig(hostKeyError: { error?: UpgradeKitError }): ConnectConfig {
    const o = this.#options;
    const privateKey = o.privateKey ?? (o.privateKeyPath ? readFileSync(o.privateKeyPath) : undefined);
    const agent = o.agent ?? (!privateKey && !o.password ? process.env.SSH_AUTH_SOCK : undefined);
    const serverHostKey = knownHostKeyAlgorithms(o.host, o.port, {
      policy: o.hostKeys.policy as HostKeyPolicy,
      ...(o.hostKeys.knownHostsPath ? { knownHostsPath: o.hostKeys.knownHostsPath } : {}),
    });
    return {
      host: o.host,
      port: o.port,
      username: o.username,
      ...(privateKey ? { privateKey } : {}),
      ...(o.passphrase ? { passphrase: o.passphrase } : {}),
      ...(o.password ? { password: o.password } : {}),
      ...(agent ? { agent } : {}),
      readyTimeout: o.readyTimeoutMs,
      keepaliveInterval: this.#settings.keepaliveIntervalMs,
      keepaliveCountMax: Math.max(
        1,
        Math.floor(this.#settings.deadAfterMs / this.#settings.keepaliveIntervalMs),
      ),
      // Ask for the key type known_hosts records, as ssh does: a host recorded by its RSA key only
      // would otherwise offer its Ed25519 key and be taken for an impostor.
      ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as never } } : {}),
      hostVerifier: (key: Buffer) => {
        const check = checkHostKey(o.host, o.port, key, {
          policy: o.hostKeys.policy as HostKeyPolicy,
          ...(o.hostKeys.knownHostsPath ? { knownHostsPath: o.hostKeys.knownHostsPath } : {}),
        });
        if (check.outcome === 'added') {
          this.#events.emit({
            type: 'log',
            level: 'warn',
            host: o.host,
            message: `recorded the host key of ${this.#label()} on first contact (accept-new)`,
          });
        }
        if (check.error) hostKeyError.error = check.error;
        return check.accepted;
      },
    };
  }

  #connectOnce(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const hostKey: { error?: UpgradeKitError } = {};
      // Built first: reading the key may throw, and then no listener must be left on the signal.
      const config = this.#connectConfig(hostKey);
      const client = new Client();
      let ready = false;
      const onAbort = () => {
        reject(signal?.reason);
        client.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      client.once('ready', () => {
        signal?.removeEventListener('abort', onAbort);
        ready = true;
        this.#client = client;
        resolve();
      });
      client.on('error', (error) => {
        if (!ready) reject(hostKey.error ?? error);
      });
      client.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
        if (ready && this.#client === client) this.#dropped();
        else if (!ready)
          reject(hostKey.error ?? new Error(`connection to ${this.#label()} closed during the handshake`));
      });
      client.connect(config);
    });
  }

  #dropped(): void {
    this.#client = undefined;
    if (this.#closing) return;
    this.#drops++;
    this.#events.emit({
      type: 'log',
      level: 'warn',
      host: this.host,
      message: `SSH connection to ${this.#label()} dropped; reconnecting`,
    });
    if (this.#settings.reconnects === 0) {
      this.#lost = new UpgradeKitError(
        ErrorCodes.SSH,
        `SSH connection to ${this.#label()} dropped, and this ${this.#options.role} connection does not reconnect by itself`,
        {
          context: { host: this.host },
        },
      );
      return;
    }
    this.#ready = this.#open().then(
      () =>
        this.#events.emit({
          type: 'log',
          level: 'info',
          host: this.host,
          message: `SSH connection to ${this.#label()} restored`,
        }),
      (error: unknown) => {
        this.#lost =
          error instanceof UpgradeKitError ? error : new UpgradeKitError(ErrorCodes.SSH, String(error));
        this.#events.emit({
          type: 'log',
          level: 'error',
          host: this.host,
          message: `SSH connection to ${this.#label()} could not be restored: ${describeError(error).message}`,
        });
      },
    );
    this.#ready.catch(() => {});
  }

  async #connection(): Promise<Client> {
    await this.#ready;
    if (this.#lost) throw this.#lost;
    if (!this.#client) throw new UpgradeKitError(ErrorCodes.SSH, `not connected to ${this.#label()}`);
    return this.#client;
  }

  /**
   * Runs a command given as an argument vector (never a shell string) and resolves with its exit
   * code and output — a non-zero exit is a result, not an error. Abort or timeout kills the remote
   * process (TERM, then KILL).
   */
  async exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string')) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        'SshSession.exec: argv must be a non-empty array of strings',
      );
    }
    const run = (signal: AbortSignal | undefined) => this.#exec(argv, options, signal);
    if (!options.timeoutMs) return run(options.signal);
    return withTimeout((signal) => run(signal), {
      ms: options.timeoutMs,
      step: `ssh ${argv[0]}`,
      host: this.host,
      kind: 'network',
      ...(options.signal ? { signal: options.signal } : {}),
      events: this.#events,
    });
  }

  async #exec(
    argv: readonly string[],
    options: ExecOptions,
    signal: AbortSignal | undefined,
  ): Promise<ExecResult> {
    signal?.throwIfAborted();
    const client = await this.#connection();
    const command = `sh -c ${remoteCommand([WRAPPER])} sh ${remoteCommand(argv)}`;
    const max = options.maxBuffer ?? 1 << 20;
    return new Promise<ExecResult>((resolve, reject) => {
      client.exec(command, (error: Error | undefined, stream: ClientChannel) => {
        if (error)
          return reject(
            new UpgradeKitError(ErrorCodes.SSH, `cannot run ${argv[0]} on ${this.host}: ${error.message}`, {
              cause: error,
            }),
          );
        let stdout = Buffer.alloc(0);
        let stderr = Buffer.alloc(0);
        let pid: string | undefined;
        let pending = '';
        const keep = (buffer: Buffer, chunk: Buffer) => {
          const joined = Buffer.concat([buffer, chunk]);
          return joined.length > max ? joined.subarray(joined.length - max) : joined;
        };
        stream.on('data', (chunk: Buffer) => {
          stdout = keep(stdout, chunk);
          options.onStdout?.(chunk);
        });
        stream.stderr.on('data', (chunk: Buffer) => {
          if (pid === undefined) {
            // The first stderr line is the wrapper's pid report; what follows is the command's.
            pending += chunk.toString();
            const newline = pending.indexOf('\n');
            if (newline === -1) return;
            const first = pending.slice(0, newline);
            pid = first.startsWith(PID_PREFIX) ? first.slice(PID_PREFIX.length) : '';
            const rest = Buffer.from(pending.slice(newline + 1));
            if (rest.length) {
              stderr = keep(stderr, rest);
              options.onStderr?.(rest);
            }
            return;
          }
          stderr = keep(stderr, chunk);
          options.onStderr?.(chunk);
        });
        const onAbort = () => {
          stream.signal('TERM');
          if (pid) {
            void this.#kill(pid);
          }
          stream.close();
          reject(
            new UpgradeKitError(
              ErrorCodes.ABORTED,
              `${argv[0]} on ${this.host} was stopped: ${describeError(signal?.reason).message}`,
              { cause: signal?.reason },
            ),
          );
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        stream.on('close', (code: number | null, exitSignal?: string) => {
          signal?.removeEventListener('abort', onAbort);
          resolve({
            code: code ?? null,
            ...(exitSignal ? { signal: exitSignal } : {}),
            stdout: stdout.toString(),
            stderr: stderr.toString(),
          });
        });
      });
    });
  }

  /**
   * An SFTP channel on this connection — host key verified and reconnects handled by the session,
   * so file transfers need no second login. Waits for a reconnect in progress. The caller ends it.
   *
   * @example
   * const sftp = await ssh.sftp();
   * sftp.stat('/opt/app', (error, stats) => { … sftp.end(); });
   */
  async sftp(): Promise<SFTPWrapper> {
    const client = await this.#connection();
    return new Promise((resolve, reject) => {
      client.sftp((error: Error | undefined, sftp: SFTPWrapper) => {
        if (error)
          reject(
            new UpgradeKitError(
              ErrorCodes.SSH,
              `cannot open an SFTP channel to ${this.#label()}: ${error.message}`,
              { cause: error, context: { host: this.host, port: this.port } },
            ),
          );
        else resolve(sftp);
      });
    });
  }

  /** TERM, a moment's grace, then KILL — on a fresh channel, since the command's own is closing. */
  async #kill(pid: string): Promise<void> {
    if (!/^\d+$/.test(pid)) return;
    try {
      await this.#exec(['kill', '-TERM', pid], {}, undefined);
      await new Promise((r) => setTimeout(r, 2000).unref());
      await this.#exec(['kill', '-KILL', pid], {}, undefined);
    } catch {
      // The process is gone or the connection is: nothing left to stop.
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#ready.catch(() => {});
    const client = this.#client;
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.end();
    });
  }
}

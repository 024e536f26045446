import { Client, type SFTPWrapper } from 'ssh2';
import { ErrorCodes, isUpgradeKitError, UpgradeKitError } from '../errors/index.js';
import { describeError } from '../errors/internal.js';
import type { EventSink } from '../events/index.js';
import { EventBus } from '../events/index.js';
import { nullSink } from '../events/internal.js';
import { validateOptions } from '../options/index.js';
import { classifyError, retry, withTimeout } from '../resilience/index.js';
import { connectConfig } from './connect-config.js';
import { execOnClient } from './exec-stream.js';
import { type ConnectionRole, type RoleSettings, roleSettings } from './roles.js';
import {
  type ExecOptions,
  type ExecResult,
  type SshSessionOptions,
  sessionLabel,
  sessionOptionsSchema,
  type ValidSessionOptions,
} from './session-options.js';

export type { ExecOptions, ExecResult, SshSessionOptions } from './session-options.js';

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
  readonly #options: ValidSessionOptions;
  readonly #events: EventSink;
  readonly #settings: RoleSettings;
  #client: Client | undefined;
  #ready: Promise<void> = Promise.resolve();
  #closing = false;
  #lost: UpgradeKitError | undefined;
  #drops = 0;

  private constructor(options: ValidSessionOptions) {
    this.#options = options;
    this.host = options.host;
    this.port = options.port;
    this.#events = options.events ?? nullSink;
    this.#settings = roleSettings(options.role as ConnectionRole, options);
    // Secrets never reach an event, whatever a library error message quotes back.
    if (this.#events instanceof EventBus) {
      for (const secret of [options.password, options.passphrase]) if (secret) this.#events.addSecret(secret);
    }
  }

  /** Connects (with up to `reconnects` retries on network errors; none on auth or host-key errors). */
  static async connect(options: SshSessionOptions): Promise<SshSession> {
    const session = new SshSession(validateOptions('SshSession.connect', sessionOptionsSchema, options));
    if (session.#options.hostKeys.policy === 'off') {
      session.#log(
        'warn',
        `host key checking is OFF for ${session.host}:${session.port}: anyone on the network path can impersonate it`,
      );
    }
    session.#ready = session.#open(session.#options.signal);
    await session.#ready;
    return session;
  }

  /** How many times the connection dropped and came back. */
  get drops(): number {
    return this.#drops;
  }

  #log(level: 'info' | 'warn' | 'error', message: string): void {
    this.#events.emit({ type: 'log', level, host: this.host, message });
  }

  #label(): string {
    return sessionLabel(this.#options);
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

  #connectOnce(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      signal?.throwIfAborted();
      const hostKey: { error?: UpgradeKitError } = {};
      // Built first: reading the key may throw, and then no listener must be left on the signal.
      const config = connectConfig(this.#options, this.#settings, {
        hostKeyError: hostKey,
        onKeyAdded: () =>
          this.#log('warn', `recorded the host key of ${this.#label()} on first contact (accept-new)`),
      });
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
    this.#log('warn', `SSH connection to ${this.#label()} dropped; reconnecting`);
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
      () => this.#log('info', `SSH connection to ${this.#label()} restored`),
      (error: unknown) => {
        this.#lost =
          error instanceof UpgradeKitError ? error : new UpgradeKitError(ErrorCodes.SSH, String(error));
        this.#log(
          'error',
          `SSH connection to ${this.#label()} could not be restored: ${describeError(error).message}`,
        );
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
    return execOnClient(client, this.host, argv, options, signal, (pid) => void this.#kill(pid));
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

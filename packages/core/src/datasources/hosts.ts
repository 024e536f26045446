import { resolve } from 'node:path';
import type { HostConfig, SiteConfig } from '../config/index.js';
import { resolveSecret } from '../config/internal.js';
import type { EventBus } from '../events/index.js';
import { anObject, checkArguments } from '../options/index.js';
import { SshSession } from '../remote/index.js';

export interface ConnectHostOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly events?: EventBus;
  /** Keepalive and timeouts by what the connection is for (see `SshSession`). Default `control`. */
  readonly role?: 'control' | 'transfer' | 'plugin' | 'status';
  /** Gives up connecting (an operator's Ctrl-C) instead of waiting out the SSH ready timeout. */
  readonly signal?: AbortSignal;
}

/**
 * Opens an SSH session to a host of the site configuration: its key (relative to the config file),
 * its password or passphrase from the environment or a file, its known_hosts policy.
 *
 * @example
 * const session = await connectHost(config.hosts[0], config, { events, role: 'status' });
 */
export function connectHost(
  host: HostConfig,
  config: SiteConfig,
  options: ConnectHostOptions = {},
): Promise<SshSession> {
  checkArguments(
    'connectHost',
    {
      host: anObject('a host of the site configuration (config.hosts[i])'),
      config: anObject('a site configuration (loadSiteConfig())'),
    },
    { host, config },
  );
  const env = options.env ?? process.env;
  const password = resolveSecret(`hosts.${host.name}`, host, config, env);
  const passphrase = host.passphraseEnv ? env[host.passphraseEnv] : undefined;
  return SshSession.connect({
    host: host.host,
    port: host.port,
    username: host.user,
    role: options.role ?? 'control',
    ...(host.privateKeyPath ? { privateKeyPath: resolve(config.baseDir, host.privateKeyPath) } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    hostKeys: {
      policy: host.hostKeys,
      ...(host.knownHostsPath ? { knownHostsPath: resolve(config.baseDir, host.knownHostsPath) } : {}),
    },
    ...(options.events ? { events: options.events } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { HostKeyPolicy } from '../known-hosts.js';
import { roleSettings, sshPort } from '../roles.js';
import type { SshSessionOptions } from '../session.js';

/** What scp needs to reach a host the way the SSH session did. */
export interface ScpTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKeyPath?: string;
  readonly agent?: string;
  readonly policy: HostKeyPolicy;
  readonly knownHostsPath?: string;
}

export interface ScpSettings {
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly deadAfterMs: number;
}

/** The scp binary: an explicit path, or the first `scp` on PATH. */
export function findScp(binary = 'scp'): string | undefined {
  if (binary.includes('/')) return existsSync(binary) ? binary : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const SAFE_USER = /^[A-Za-z0-9._][A-Za-z0-9._-]*$/;
const SAFE_HOST = /^[A-Za-z0-9.:_][A-Za-z0-9.:_-]*$/;

/**
 * Why scp cannot serve this host, or undefined when it can. scp runs with BatchMode (no prompts),
 * so it needs a key file or an agent; a key given only as a buffer is never written to disk.
 */
export function scpUnusableReason(target: {
  host: string;
  username: string;
  privateKeyPath?: string;
  agent?: string;
  passphrase?: string;
  password?: string;
}): string | undefined {
  if (!SAFE_USER.test(target.username) || !SAFE_HOST.test(target.host))
    return 'the user or host name has characters scp would misread; using SFTP';
  if (target.privateKeyPath && target.passphrase && !target.agent)
    return 'the key has a passphrase, which scp cannot be given without a prompt';
  if (!target.privateKeyPath && !target.agent)
    return target.password
      ? 'password authentication needs a prompt, and scp runs with BatchMode=yes'
      : 'scp needs a key file or an ssh-agent; this host has neither';
  return undefined;
}

/**
 * The ssh-agent socket scp authenticates with: the one configured for the host, else (with no key
 * file) the caller's own. Uploads and downloads both use it: scp runs as a child process, which
 * sees no agent the session was given unless it is passed on.
 */
export function scpAgent(target: { privateKeyPath?: string; agent?: string }): string | undefined {
  return target.agent ?? (target.privateKeyPath ? undefined : process.env.SSH_AUTH_SOCK);
}

/** Remote paths with glob characters: OpenSSH ≥ 9 scp expands them on the source side. */
export function hasGlob(path: string): boolean {
  return /[*?[\\]/.test(path);
}

/**
 * The scp argument vector. `-s` forces the SFTP protocol: file names then travel as SFTP strings
 * and never through a remote shell (the legacy protocol hands the remote path to `sh`, where
 * `$()` would run). An scp too old to know `-s` fails with a usage error and we fall back to SFTP.
 * No `-q`: it would also silence ssh's own "Permission denied (publickey)", which classifies the
 * failure. `-F /dev/null`: no ssh_config alias or ProxyCommand can send scp somewhere other than the host
 * the session verified; host keys are checked against the same known_hosts file.
 */
export function scpArgs(target: ScpTarget, settings: ScpSettings, from: string, to: string): string[] {
  const knownHosts = target.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
  const strict = target.policy === 'off' ? 'no' : target.policy === 'accept-new' ? 'accept-new' : 'yes';
  const option = (o: string) => ['-o', o];
  return [
    '-s',
    '-p',
    '-F',
    '/dev/null',
    '-P',
    String(target.port),
    ...(target.privateKeyPath ? ['-i', target.privateKeyPath] : []),
    ...option('BatchMode=yes'),
    ...option(`IdentitiesOnly=${target.privateKeyPath ? 'yes' : 'no'}`),
    ...option(`ConnectTimeout=${Math.max(1, Math.ceil(settings.connectTimeoutMs / 1000))}`),
    ...option(`ServerAliveInterval=${Math.max(1, Math.round(settings.keepaliveIntervalMs / 1000))}`),
    ...option(
      `ServerAliveCountMax=${Math.max(1, Math.floor(settings.deadAfterMs / settings.keepaliveIntervalMs))}`,
    ),
    ...option(`StrictHostKeyChecking=${strict}`),
    ...option(`UserKnownHostsFile=${target.policy === 'off' ? '/dev/null' : knownHosts}`),
    ...option('LogLevel=ERROR'),
    '--',
    from,
    to,
  ];
}

/**
 * scp's arguments for a session target: reached as the session reaches it (port, key, host-key
 * policy), with the keepalive of its role (a transfer's by default).
 */
export function scpArgsFor(
  target: SshSessionOptions,
  connectTimeoutMs: number,
  from: string,
  to: string,
): string[] {
  const role = roleSettings(target.role ?? 'transfer', target);
  return scpArgs(
    {
      host: target.host,
      port: sshPort(target),
      username: target.username,
      ...(target.privateKeyPath ? { privateKeyPath: target.privateKeyPath } : {}),
      policy: target.hostKeys?.policy ?? 'strict',
      ...(target.hostKeys?.knownHostsPath ? { knownHostsPath: target.hostKeys.knownHostsPath } : {}),
    },
    { connectTimeoutMs, keepaliveIntervalMs: role.keepaliveIntervalMs, deadAfterMs: role.deadAfterMs },
    from,
    to,
  );
}

/** `user@host:path` (IPv6 hosts in brackets). */
export function scpRemote(target: { host: string; username: string }, path: string): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.username}@${host}:${path}`;
}

/** Runs scp; rejects with its exit code and stderr. Abort kills it. */
export function runScp(
  binary: string,
  args: readonly string[],
  options: { signal?: AbortSignal; agent?: string } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...(options.agent ? { SSH_AUTH_SOCK: options.agent } : {}) },
      ...(options.signal ? { signal: options.signal, killSignal: 'SIGTERM' as const } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 16_384) stderr += d.toString();
    });
    child.once('error', (error) => reject(error));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `scp exited with ${code === null ? `signal ${signal}` : `code ${code}`}: ${stderr.trim().replace(/\s*\n\s*/g, ' / ') || 'no message'}`,
          ),
        );
    });
  });
}

import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';

/** `strict`: only keys in known_hosts. `accept-new`: trust and record a host seen for the first time. `off`: trust anything (warns). */
export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export interface HostKeyOptions {
  readonly policy?: HostKeyPolicy;
  /** Default: ~/.ssh/known_hosts. */
  readonly knownHostsPath?: string;
}

/** The names a host goes by in known_hosts: `host` on port 22, `[host]:port` otherwise. */
function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matches(pattern: string, label: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = pattern.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(label).digest('base64') === hash;
  }
  return pattern.split(',').includes(label);
}

/** The key type inside an SSH public key blob (`ssh-ed25519`, …). */
function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

export interface HostKeyCheck {
  readonly accepted: boolean;
  readonly outcome: 'known' | 'added' | 'unchecked' | 'unknown' | 'mismatch';
  readonly error?: UpgradeKitError;
}

/**
 * Checks a server's host key against known_hosts. A key that differs from a recorded one is
 * always refused — whatever the policy but `off` — because that is what an attack looks like.
 */
export function checkHostKey(
  host: string,
  port: number,
  key: Buffer,
  options: HostKeyOptions = {},
): HostKeyCheck {
  const policy = options.policy ?? 'strict';
  const path = options.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
  if (policy === 'off') return { accepted: true, outcome: 'unchecked' };
  const label = hostLabel(host, port);
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n') : [];
  const recorded = lines
    .map((line) => line.trim().split(/\s+/))
    .filter(([patterns, , blob]) => patterns && blob && !patterns.startsWith('#') && matches(patterns, label))
    .map(([, , blob]) => blob);
  const offered = key.toString('base64');
  if (recorded.includes(offered)) return { accepted: true, outcome: 'known' };
  if (recorded.length > 0) {
    return {
      accepted: false,
      outcome: 'mismatch',
      error: new UpgradeKitError(
        ErrorCodes.HOST_KEY,
        `Host key of ${label} does not match the one recorded in ${path}. This is what a man-in-the-middle attack looks like; it also happens when a host is reinstalled. Verify the new key with the host's owner, then replace the old line (ssh-keygen -R '${label}' -f ${path}).`,
        { context: { host, port, knownHosts: path, outcome: 'mismatch' } },
      ),
    };
  }
  if (policy === 'accept-new') {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${label} ${keyType(key)} ${offered}\n`, { mode: 0o600 });
    return { accepted: true, outcome: 'added' };
  }
  return {
    accepted: false,
    outcome: 'unknown',
    error: new UpgradeKitError(
      ErrorCodes.HOST_KEY,
      `Host ${label} is not in ${path}, and host keys are checked strictly. Add its key (ssh-keyscan -p ${port} ${host} >> ${path}, after verifying it), or connect once with hostKeys.policy 'accept-new'.`,
      { context: { host, port, knownHosts: path, outcome: 'unknown' } },
    ),
  };
}

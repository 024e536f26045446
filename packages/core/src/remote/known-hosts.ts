import { createHmac } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { checkArguments } from '../options/index.js';
import { SSH_PORT } from './roles.js';

/** `strict`: only keys in known_hosts. `accept-new`: trust and record a host seen for the first time. `off`: trust anything (warns). */
export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export interface HostKeyOptions {
  readonly policy?: HostKeyPolicy;
  /** Default: ~/.ssh/known_hosts. */
  readonly knownHostsPath?: string;
}

/** One line of known_hosts, as sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT" describes it. */
interface KnownHost {
  readonly marker?: 'revoked' | 'cert-authority';
  readonly patterns: string;
  readonly type: string;
  readonly blob: string;
  readonly line: number;
}

/** The name a host goes by in known_hosts: `host` on port 22, `[host]:port` otherwise. */
function hostLabel(host: string, port: number): string {
  return port === SSH_PORT ? host : `[${host}]:${port}`;
}

function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith('#')) return;
    let marker: KnownHost['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return; // OpenSSH ignores a line with a marker it does not know
    }
    const [patterns, type, blob] = fields;
    if (!patterns || !type || !blob) return;
    out.push({ ...(marker ? { marker } : {}), patterns, type, blob, line: index + 1 });
  });
  return out;
}

/** OpenSSH's match_pattern: `*` any run, `?` one character. */
function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    'i',
  );
  return re.test(name);
}

/**
 * Whether a line's host patterns name `label`, as OpenSSH's match_hostname decides: hashed
 * (`|1|salt|hash`), wildcards, and `!pattern`, which excludes the host even when another pattern
 * of the line names it.
 */
function namesHost(patterns: string, label: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = patterns.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(label).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), label)) return false;
    } else if (globMatches(pattern, label)) matched = true;
  }
  return matched;
}

/** The key type inside an SSH public key blob (`ssh-ed25519`, …). */
function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

function entriesFor(host: string, port: number, path: string): KnownHost[] {
  const label = hostLabel(host, port);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  return parseKnownHosts(text).filter((e) => namesHost(e.patterns, label));
}

function defaultPath(options: HostKeyOptions): string {
  return options.knownHostsPath ?? join(homedir(), '.ssh', 'known_hosts');
}

// What ssh2 can negotiate; an `ssh-rsa` line is the RSA key, signed today with SHA-2.
const ALGORITHMS_OF: Record<string, readonly string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

/**
 * The host-key algorithms to offer a server, from the key types known_hosts records for it — as
 * OpenSSH orders its HostKeyAlgorithms — so a host recorded only by its RSA key is asked for that
 * key, not for an Ed25519 one that would look like an impostor. Undefined when nothing is recorded.
 */
export function knownHostKeyAlgorithms(
  host: string,
  port: number,
  options: HostKeyOptions = {},
): string[] | undefined {
  if ((options.policy ?? 'strict') === 'off') return undefined;
  const types = entriesFor(host, port, defaultPath(options))
    .filter((e) => !e.marker)
    .flatMap((e) => ALGORITHMS_OF[e.type] ?? []);
  return types.length > 0 ? [...new Set(types)] : undefined;
}

export interface HostKeyCheck {
  readonly accepted: boolean;
  readonly outcome: 'known' | 'added' | 'unchecked' | 'unknown' | 'mismatch' | 'revoked';
  readonly error?: UpgradeKitError;
}

/**
 * Checks a server's host key against known_hosts as OpenSSH does. A key marked `@revoked` is
 * refused under every policy; a key that differs from a recorded one of its type is refused
 * unless the policy is `off`, because that is what an attack looks like. `@cert-authority` lines
 * (host certificates) are not supported: a host known only through one is refused, saying so.
 */
export function checkHostKey(
  host: string,
  port: number,
  key: Buffer,
  options: HostKeyOptions = {},
): HostKeyCheck {
  checkArguments(
    'checkHostKey',
    {
      host: z.string().min(1, 'must be a host name'),
      port: z.number().int().positive('must be a port'),
      key: z.instanceof(Buffer, { message: 'must be the host key (a Buffer)' }),
    },
    { host, port, key },
  );
  const policy = options.policy ?? 'strict';
  const path = defaultPath(options);
  const label = hostLabel(host, port);
  const entries = entriesFor(host, port, path);
  const offered = key.toString('base64');
  const refuse = (outcome: HostKeyCheck['outcome'], message: string): HostKeyCheck => ({
    accepted: false,
    outcome,
    error: new UpgradeKitError(ErrorCodes.HOST_KEY, message, {
      context: { host, port, knownHosts: path, outcome },
    }),
  });
  const revoked = entries.find((e) => e.marker === 'revoked' && e.blob === offered);
  if (revoked)
    return refuse(
      'revoked',
      `REVOKED HOST KEY: the key ${label} offers is marked @revoked in ${path}:${revoked.line}. It must never be accepted, whatever the policy: the host's key was withdrawn (stolen, or the host retired). Ask its owner for the new key.`,
    );
  if (policy === 'off') return { accepted: true, outcome: 'unchecked' };
  const plain = entries.filter((e) => !e.marker);
  if (plain.some((e) => e.blob === offered)) return { accepted: true, outcome: 'known' };
  const type = keyType(key);
  const sameType = plain.filter((e) => e.type === type || ALGORITHMS_OF[e.type]?.includes(type));
  if (sameType.length > 0)
    return refuse(
      'mismatch',
      `Host key of ${label} does not match the one recorded in ${path}:${sameType[0]?.line}. This is what a man-in-the-middle attack looks like; it also happens when a host is reinstalled. Verify the new key with the host's owner, then replace the old line (ssh-keygen -R '${label}' -f ${path}).`,
    );
  if (plain.length > 0)
    return refuse(
      'mismatch',
      `Host ${label} offered a ${type} key, but ${path} records only ${[...new Set(plain.map((e) => e.type))].join(', ')} for it (line ${plain[0]?.line}). Verify the ${type} key with the host's owner and add it, or make the host offer the recorded key.`,
    );
  if (entries.some((e) => e.marker === 'cert-authority'))
    return refuse(
      'unknown',
      `Host ${label} is known in ${path} only through an @cert-authority line: host certificates are not supported. Add the host's own key (ssh-keyscan -p ${port} ${host}, after verifying it).`,
    );
  if (policy === 'accept-new') {
    mkdirSync(dirname(path), { recursive: true });
    appendFileSync(path, `${label} ${type} ${offered}\n`, { mode: 0o600 });
    return { accepted: true, outcome: 'added' };
  }
  return refuse(
    'unknown',
    `Host ${label} is not in ${path}, and host keys are checked strictly. Add its key (ssh-keyscan -p ${port} ${host} >> ${path}, after verifying it), or connect once with hostKeys.policy 'accept-new'.`,
  );
}

// The ssh2 configuration of one connect: credentials, keepalive by role, and the known_hosts
// check, which reports a refused key back to the caller (ssh2 only says "handshake failed").
import { readFileSync } from 'node:fs';
import type { ConnectConfig } from 'ssh2';
import type { UpgradeKitError } from '../errors/index.js';
import { checkHostKey, knownHostKeyAlgorithms } from './known-hosts.js';
import type { RoleSettings } from './roles.js';
import { hostKeyOptions, type ValidSessionOptions } from './session-options.js';

export interface ConnectHooks {
  /** Where the host-key check leaves its error, for the connect to reject with. */
  readonly hostKeyError: { error?: UpgradeKitError };
  /** Called when accept-new recorded the host's key on first contact. */
  readonly onKeyAdded: () => void;
}

export function connectConfig(
  o: ValidSessionOptions,
  settings: RoleSettings,
  hooks: ConnectHooks,
): ConnectConfig {
  const privateKey = o.privateKey ?? (o.privateKeyPath ? readFileSync(o.privateKeyPath) : undefined);
  const agent = o.agent ?? (!privateKey && !o.password ? process.env.SSH_AUTH_SOCK : undefined);
  const hostKeys = hostKeyOptions(o);
  const serverHostKey = knownHostKeyAlgorithms(o.host, o.port, hostKeys);
  return {
    host: o.host,
    port: o.port,
    username: o.username,
    ...(privateKey ? { privateKey } : {}),
    ...(o.passphrase ? { passphrase: o.passphrase } : {}),
    ...(o.password ? { password: o.password } : {}),
    ...(agent ? { agent } : {}),
    readyTimeout: o.readyTimeoutMs,
    keepaliveInterval: settings.keepaliveIntervalMs,
    keepaliveCountMax: Math.max(1, Math.floor(settings.deadAfterMs / settings.keepaliveIntervalMs)),
    // Ask for the key type known_hosts records, as ssh does: a host recorded by its RSA key only
    // would otherwise offer its Ed25519 key and be taken for an impostor.
    ...(serverHostKey ? { algorithms: { serverHostKey: serverHostKey as never } } : {}),
    hostVerifier: (key: Buffer) => {
      const check = checkHostKey(o.host, o.port, key, hostKeys);
      if (check.outcome === 'added') hooks.onKeyAdded();
      if (check.error) hooks.hostKeyError.error = check.error;
      return check.accepted;
    },
  };
}

import { type Partly, withDefaults } from '../options/index.js';
/** What a connection is for; decides its heartbeat and how hard it tries to come back (seed 004 §4.6.1). */
export type ConnectionRole = 'control' | 'transfer' | 'plugin' | 'status';

export interface RoleSettings {
  /** Keepalive probe interval. */
  readonly keepaliveIntervalMs: number;
  /** Declare the connection dead after this long without an answer. */
  readonly deadAfterMs: number;
  /** Automatic reconnects after a drop; 0 = report and let the caller decide. */
  readonly reconnects: number;
}

export const ROLE_DEFAULTS: Readonly<Record<ConnectionRole, RoleSettings>> = Object.freeze({
  control: { keepaliveIntervalMs: 60_000, deadAfterMs: 180_000, reconnects: 3 },
  transfer: { keepaliveIntervalMs: 30_000, deadAfterMs: 120_000, reconnects: 2 },
  plugin: { keepaliveIntervalMs: 45_000, deadAfterMs: 150_000, reconnects: 1 },
  status: { keepaliveIntervalMs: 90_000, deadAfterMs: 300_000, reconnects: 0 },
});

/** The port an SSH target without one is reached on. */
export const SSH_PORT = 22;

/** The port a target is reached on: its own, or SSH's. */
export function sshPort(target: { readonly port?: number | undefined }): number {
  return target.port ?? SSH_PORT;
}

/** A role's settings, with what the caller set for this connection in their place. */
export function roleSettings(role: ConnectionRole, given: Partly<RoleSettings>): RoleSettings {
  return withDefaults<RoleSettings>(ROLE_DEFAULTS[role], given);
}

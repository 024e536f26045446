/**
 * @upgradekit/core — safe, resumable, rollback-able version upgrades of on-premise deployments.
 *
 * Each folder's `index.ts` is its public face; this file re-exports them.
 */
export * from './assess/index.js';
export * from './backup/index.js';
export * from './commands/index.js';
export * from './config/index.js';
export * from './datasources/index.js';
export * from './errors/index.js';
export * from './events/index.js';
export * from './migrate/index.js';
export * from './model/index.js';
export * from './plan/index.js';
export * from './plugins/index.js';
export * from './release/index.js';
export * from './remote/index.js';
export * from './resilience/index.js';
export * from './rollout/index.js';
export * from './service/index.js';
export * from './site/index.js';
export * from './stages/index.js';
export * from './state/index.js';
export * from './version/index.js';

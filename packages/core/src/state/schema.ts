import type { Knex } from 'knex';

/**
 * The state schema, as knex migrations kept in code. Each entry is applied once, in order, and
 * recorded in `upgradekit_state_migrations`; a newer upgradekit adds entries, never edits old ones,
 * so an older state database migrates itself forward on open.
 */
const migrations: Record<string, Knex.Migration> = {
  '0001-initial': {
    async up(knex) {
      await knex.schema.createTable('upgrade_log', (t) => {
        // The seed's columns (001 §5.2.5) plus what resume and diagnosis need.
        t.increments('id').primary();
        t.string('run_id', 64).notNullable();
        t.string('component', 128).notNullable();
        t.string('site', 128).notNullable().defaultTo('');
        t.string('host', 128).notNullable().defaultTo('');
        t.string('task_id', 191).notNullable();
        t.string('task_version', 64).notNullable();
        t.string('task_name', 255).notNullable().defaultTo('');
        t.string('version_from', 64).notNullable();
        t.string('version_to', 64).notNullable();
        t.string('stage', 32).notNullable();
        t.string('status', 16).notNullable();
        t.integer('attempt').notNullable().defaultTo(1);
        t.string('checksum', 128).nullable();
        t.text('error').nullable();
        t.bigInteger('start_time').notNullable();
        t.bigInteger('end_time').nullable();
        t.integer('duration_ms').nullable();
        t.index(['run_id'], 'upgrade_log_run');
        t.index(['component', 'task_version', 'task_id'], 'upgrade_log_identity');
      });
      await knex.schema.createTable('upgradekit_steps', (t) => {
        // The current state of each step: what resume and status() read, one row per identity.
        t.string('component', 128).notNullable();
        t.string('site', 128).notNullable();
        t.string('host', 128).notNullable();
        t.string('task_version', 64).notNullable();
        t.string('task_id', 191).notNullable();
        t.string('task_name', 255).notNullable().defaultTo('');
        t.string('stage', 32).notNullable();
        t.string('status', 16).notNullable();
        t.string('run_id', 64).notNullable();
        t.integer('attempt').notNullable().defaultTo(1);
        t.string('checksum', 128).nullable();
        t.text('error').nullable();
        t.text('progress').nullable();
        t.bigInteger('started_at').nullable();
        t.bigInteger('ended_at').nullable();
        t.integer('log_id').nullable();
        t.primary(['component', 'site', 'host', 'task_version', 'task_id']);
      });
      await knex.schema.createTable('upgradekit_runs', (t) => {
        t.string('run_id', 64).primary();
        t.string('component', 128).notNullable();
        t.string('site', 128).notNullable();
        t.string('version_from', 64).notNullable();
        t.string('version_to', 64).notNullable();
        t.string('status', 16).notNullable();
        t.string('host', 255).notNullable();
        t.integer('pid').notNullable();
        t.bigInteger('started_at').notNullable();
        t.bigInteger('ended_at').nullable();
        t.text('error').nullable();
        t.index(['component', 'site'], 'upgradekit_runs_site');
      });
      await knex.schema.createTable('upgradekit_locks', (t) => {
        t.string('component', 128).notNullable();
        t.string('site', 128).notNullable();
        t.string('run_id', 64).notNullable();
        t.string('host', 255).notNullable();
        t.integer('pid').notNullable();
        t.bigInteger('acquired_at').notNullable();
        t.bigInteger('heartbeat_at').notNullable();
        t.integer('ttl_ms').notNullable();
        t.primary(['component', 'site']);
      });
    },
    async down(knex) {
      for (const table of ['upgradekit_locks', 'upgradekit_runs', 'upgradekit_steps', 'upgrade_log']) {
        await knex.schema.dropTableIfExists(table);
      }
    },
  },
  '0002-rollback-history': {
    async up(knex) {
      // Seed 004 §4.4.3.1: one row per rollback; its six steps (§4.4.2.2) as a small JSON document,
      // so a manual rollback's progress and an interrupted one's resume point live in one place.
      await knex.schema.createTable('upgradekit_rollbacks', (t) => {
        t.string('component', 128).notNullable();
        t.string('site', 128).notNullable();
        t.string('rollback_id', 64).notNullable();
        t.string('host', 255).notNullable().defaultTo('');
        t.string('backup_id', 128).notNullable();
        t.string('from_version', 64).notNullable();
        t.string('to_version', 64).notNullable();
        t.string('rollback_type', 16).notNullable();
        t.string('mode', 16).notNullable();
        t.string('status', 16).notNullable();
        t.bigInteger('started_at').notNullable();
        t.bigInteger('ended_at').nullable();
        // bigint: a manual rollback may stay open for weeks, past an int's 24.8 days of milliseconds.
        t.bigInteger('duration_ms').nullable();
        t.text('steps').notNullable();
        t.text('error').nullable();
        t.primary(['component', 'site', 'rollback_id']);
        t.index(['component', 'site', 'status'], 'upgradekit_rollbacks_status');
      });
    },
    async down(knex) {
      await knex.schema.dropTableIfExists('upgradekit_rollbacks');
    },
  },
  '0003-step-changes-data': {
    async up(knex) {
      // Whether a step changed the application's data: a compatible rollback keeps the data, so it
      // keeps those steps done and reopens the rest. NULL: recorded before this column existed.
      await knex.schema.alterTable('upgradekit_steps', (t) => {
        t.boolean('changes_data').nullable();
      });
    },
    async down(knex) {
      await knex.schema.alterTable('upgradekit_steps', (t) => {
        t.dropColumn('changes_data');
      });
    },
  },
  '0004-structured-errors': {
    async up(knex) {
      // A failure as fields (the server's code and message, file, line, statement k of n, the
      // statement's first characters) beside the message, so status and reports can lead with the
      // cause instead of parsing text. JSON in a text column: every state database has one.
      for (const table of ['upgrade_log', 'upgradekit_steps']) {
        await knex.schema.alterTable(table, (t) => {
          t.text('error_detail').nullable();
        });
      }
    },
    async down(knex) {
      for (const table of ['upgrade_log', 'upgradekit_steps']) {
        await knex.schema.alterTable(table, (t) => {
          t.dropColumn('error_detail');
        });
      }
    },
  },
  '0005-lock-identity': {
    async up(knex) {
      // Who holds a lock, or ran a run, precisely enough to prove it dead: the kernel boot it ran
      // under, its PID namespace, and its process's start time (clock ticks since boot, so a reused
      // pid is told apart). NULL: recorded before this migration; then only the heartbeat TTL decides.
      for (const table of ['upgradekit_locks', 'upgradekit_runs']) {
        await knex.schema.alterTable(table, (t) => {
          t.string('boot_id', 64).nullable();
          t.string('pid_ns', 64).nullable();
          t.bigInteger('pid_start').nullable();
        });
      }
    },
    async down(knex) {
      for (const table of ['upgradekit_locks', 'upgradekit_runs']) {
        await knex.schema.alterTable(table, (t) => {
          t.dropColumn('boot_id');
          t.dropColumn('pid_ns');
          t.dropColumn('pid_start');
        });
      }
    },
  },
};

export const SCHEMA_VERSION = Object.keys(migrations).length;

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = migrations[name];
    if (!migration) throw new Error(`unknown state migration ${name}`);
    return migration;
  },
};

export const MIGRATIONS_TABLE = 'upgradekit_state_migrations';

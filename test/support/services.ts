import { connect } from 'node:net';

/**
 * Connection settings for the real services `npm run services:up` starts. Each can be pointed
 * elsewhere through the environment (UPGRADEKIT_TEST_MARIADB_HOST, …).
 */
/** A SQL server's settings from UPGRADEKIT_TEST_<NAME>_HOST, _PORT, _USER, _PASSWORD, _DATABASE. */
function sqlServer(name: 'MARIADB' | 'POSTGRES', port: number, user: string) {
  const env = (key: string) => process.env[`UPGRADEKIT_TEST_${name}_${key}`];
  return {
    host: env('HOST') ?? '127.0.0.1',
    port: Number(env('PORT') ?? port),
    user: env('USER') ?? user,
    password: env('PASSWORD') ?? '',
    database: env('DATABASE') ?? 'test',
  };
}

export const settings = {
  mariadb: sqlServer('MARIADB', 3306, 'root'),
  postgres: sqlServer('POSTGRES', 5432, 'postgres'),
  clickhouse: {
    url: process.env.UPGRADEKIT_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8123',
    username: process.env.UPGRADEKIT_TEST_CLICKHOUSE_USER ?? 'default',
    password: process.env.UPGRADEKIT_TEST_CLICKHOUSE_PASSWORD ?? '',
  },
  sshd: {
    binary: process.env.UPGRADEKIT_TEST_SSHD ?? '/usr/sbin/sshd',
  },
} as const;

export type ServiceName = keyof typeof settings;

function tcpReachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function probe(name: ServiceName): Promise<boolean> {
  switch (name) {
    case 'mariadb':
      return tcpReachable(settings.mariadb.host, settings.mariadb.port);
    case 'postgres':
      return tcpReachable(settings.postgres.host, settings.postgres.port);
    case 'clickhouse': {
      const url = new URL(settings.clickhouse.url);
      return tcpReachable(url.hostname, Number(url.port || 8123));
    }
    case 'sshd': {
      const { access, constants } = await import('node:fs/promises');
      return access(settings.sshd.binary, constants.X_OK).then(
        () => true,
        () => false,
      );
    }
  }
}

const warned = new Set<ServiceName>();

/**
 * Whether a service is there for this test file. Under `CI=true` a missing service is an error
 * naming it — CI must never go green by skipping. Elsewhere the tests that need it are skipped,
 * with one loud notice per service.
 *
 * @example
 * const hasMariaDB = await requireService('mariadb');
 * describe.runIf(hasMariaDB)('on MariaDB', () => { … });
 */
export async function requireService(name: ServiceName): Promise<boolean> {
  if (await probe(name)) return true;
  const message = `service "${name}" is not available (${describe(name)}); run \`npm run services:up\``;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${message}`);
  if (!warned.has(name)) {
    warned.add(name);
    process.stderr.write(`\n!!! SKIPPING tests that need ${message}\n\n`);
  }
  return false;
}

function describe(name: ServiceName): string {
  switch (name) {
    case 'mariadb':
      return `${settings.mariadb.host}:${settings.mariadb.port}`;
    case 'postgres':
      return `${settings.postgres.host}:${settings.postgres.port}`;
    case 'clickhouse':
      return settings.clickhouse.url;
    case 'sshd':
      return settings.sshd.binary;
  }
}

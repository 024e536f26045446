// The test bed itself: real services answer, throwaway sshd hosts accept the generated keys and
// verify host keys, and the fault proxy really injects its faults. Everything else builds on these.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { createClient } from '@clickhouse/client';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FaultProxy,
  type Faults,
  requireService,
  type SshdHost,
  settings,
  sshArgs,
  startSshd,
  startSshdHosts,
} from '#test-support';

const exec = promisify(execFile);
const [hasMariaDB, hasPostgres, hasClickHouse, hasSshd] = await Promise.all([
  requireService('mariadb'),
  requireService('postgres'),
  requireService('clickhouse'),
  requireService('sshd'),
]);

describe('real database services', () => {
  it.runIf(hasMariaDB)('MariaDB answers as root without a password over TCP', async () => {
    const connection = await mysql.createConnection(settings.mariadb);
    const [rows] = await connection.query('SELECT VERSION() AS v, DATABASE() AS db');
    await connection.end();
    expect((rows as { v: string; db: string }[])[0]).toMatchObject({
      db: 'test',
      v: expect.stringMatching(/MariaDB/),
    });
  });

  it.runIf(hasPostgres)('PostgreSQL answers on database test', async () => {
    const client = new pg.Client(settings.postgres);
    await client.connect();
    const { rows } = await client.query('SELECT current_database() AS db, version() AS v');
    await client.end();
    expect(rows[0]).toMatchObject({ db: 'test', v: expect.stringMatching(/PostgreSQL/) });
  });

  it.runIf(hasClickHouse)('ClickHouse answers over HTTP in its old dialect', async () => {
    const client = createClient(settings.clickhouse);
    expect((await client.ping()).success).toBe(true);
    await client.command({ query: 'DROP TABLE IF EXISTS testbed_probe' });
    await client.command({ query: 'CREATE TABLE testbed_probe (id UInt32, name String) ENGINE = Memory' });
    await client.insert({
      table: 'testbed_probe',
      values: [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
      ],
      format: 'JSONEachRow',
    });
    const result = await client.query({
      query: 'SELECT count() AS n FROM testbed_probe',
      format: 'JSONEachRow',
    });
    const rows = await result.json<{ n: string }>();
    await client.command({ query: 'DROP TABLE testbed_probe' });
    await client.close();
    expect(Number(rows[0]?.n)).toBe(2);
  });
});

describe.runIf(hasSshd)('throwaway sshd hosts', () => {
  let hosts: SshdHost[] = [];
  beforeAll(async () => {
    hosts = await startSshdHosts(3);
  });
  afterAll(() => Promise.all(hosts.map((h) => h.stop())));

  it('stand for separate hosts on 127.0.0.2, .3, .4 and run commands with strict host-key checking', async () => {
    expect(hosts.map((h) => h.host)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const seen = await Promise.all(
      hosts.map(async (host) =>
        (await exec('ssh', [...sshArgs(host), 'echo $SSH_CONNECTION'])).stdout.trim(),
      ),
    );
    seen.forEach((line, i) => {
      // SSH_CONNECTION = client-ip client-port server-ip server-port
      const [, , serverIp, serverPort] = line.split(' ');
      expect(serverIp).toBe(hosts[i]!.host);
      expect(Number(serverPort)).toBe(hosts[i]!.port);
    });
  });

  it('have distinct host keys, so a wrong known_hosts entry is refused', async () => {
    const [a, b] = hosts;
    expect(a!.hostPublicKey).not.toBe(b!.hostPublicKey);
    const forged = `${a!.knownHostsPath}.forged`;
    await writeFile(forged, `[${a!.host}]:${a!.port} ${b!.hostPublicKey}\n`);
    const args = sshArgs(a!).map((arg) =>
      arg.startsWith('UserKnownHostsFile=') ? `UserKnownHostsFile=${forged}` : arg,
    );
    await expect(exec('ssh', [...args, 'true'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/i),
    });
  });

  it('stop cleanly and free their port', async () => {
    const extra = await startSshd({ host: '127.0.0.5' });
    await extra.stop();
    await expect(exec('ssh', [...sshArgs(extra), '-o', 'ConnectTimeout=2', 'true'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/refused|No such file/i),
    });
  });
});

describe('the fault proxy', () => {
  let echo: Server;
  let echoPort = 0;
  const proxies: FaultProxy[] = [];
  beforeAll(async () => {
    echo = createServer((socket) => socket.on('error', () => {}).pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    echoPort = (echo.address() as { port: number }).port;
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  async function proxy(faults: Faults = {}) {
    const p = await FaultProxy.start({ host: '127.0.0.1', port: echoPort }, faults);
    proxies.push(p);
    return p;
  }

  function open(p: FaultProxy): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: p.host, port: p.port });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Sends `payload` and collects what comes back until the socket closes or `waitMs` passes. */
  function exchange(socket: Socket, payload: Buffer | string, waitMs: number) {
    return new Promise<{ received: Buffer; closed: boolean; firstByteMs?: number }>((resolve) => {
      const chunks: Buffer[] = [];
      const started = performance.now();
      let firstByteMs: number | undefined;
      let closed = false;
      socket.on('data', (chunk: Buffer) => {
        firstByteMs ??= performance.now() - started;
        chunks.push(chunk);
      });
      socket.on('error', () => {});
      const finish = () =>
        resolve({
          received: Buffer.concat(chunks),
          closed,
          ...(firstByteMs === undefined ? {} : { firstByteMs }),
        });
      socket.once('close', () => {
        closed = true;
        finish();
      });
      setTimeout(finish, waitMs);
      socket.write(payload);
    });
  }

  it('passes traffic through untouched by default', async () => {
    const p = await proxy();
    const socket = await open(p);
    const { received } = await exchange(socket, 'hello', 200);
    socket.destroy();
    expect(received.toString()).toBe('hello');
    await new Promise((r) => setTimeout(r, 50));
    expect(p.stats).toMatchObject({ connections: 1, cuts: 0 }); // a peer closing is not a cut
  });

  it('adds latency in each direction', async () => {
    const p = await proxy({ latencyMs: 150 });
    const socket = await open(p);
    const { received, firstByteMs } = await exchange(socket, 'ping', 1000);
    socket.destroy();
    expect(received.toString()).toBe('ping');
    expect(firstByteMs).toBeGreaterThanOrEqual(290); // 150 up + 150 down
  });

  it('cuts a connection after N bytes', async () => {
    const p = await proxy({ cutAfterBytes: 1000 });
    const socket = await open(p);
    const { received, closed } = await exchange(socket, Buffer.alloc(5000, 1), 1000);
    expect(closed).toBe(true);
    expect(received.length).toBeLessThan(1000);
    expect(p.stats.cuts).toBe(1);
  });

  it('cuts a connection after N milliseconds', async () => {
    const p = await proxy({ cutAfterMs: 200 });
    const socket = await open(p);
    const started = performance.now();
    const { closed } = await exchange(socket, 'x', 2000);
    expect(closed).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('drops idle connections but not busy ones', async () => {
    const p = await proxy({ idleTimeoutMs: 200 });
    const busy = await open(p);
    const idle = await open(p);
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    idle.on('error', () => {});
    busy.on('error', () => {});
    for (let i = 0; i < 5; i++) {
      busy.write('k');
      await new Promise((r) => setTimeout(r, 100));
    }
    await idleClosed;
    expect(busy.destroyed).toBe(false);
    busy.destroy();
  });

  it('black-holes traffic: the connection stays open and nothing comes back', async () => {
    const p = await proxy({ blackhole: true });
    const socket = await open(p);
    const { received, closed } = await exchange(socket, 'anyone there?', 400);
    expect(received.length).toBe(0);
    expect(closed).toBe(false);
    p.set({}); // new connections heal…
    const healthy = await open(p);
    const answer = await exchange(healthy, 'now?', 300);
    expect(answer.received.toString()).toBe('now?');
    socket.destroy();
    healthy.destroy();
  });
});

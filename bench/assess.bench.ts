// The assessment beside what an operator would otherwise run (issue 6):
//  1. the local resource check vs `df -P`, `free -b`, `nproc` and two reads of /proc/stat in a shell;
//  2. a remote host: one SSH round trip vs `ssh host <cmd>` per figure (a script's way);
//  3. assess() of a 500-task release with 50 quality checks on MariaDB (target < 2 s) vs the same
//     50 queries run one by one with the `mariadb` client, as a shell script would;
//  4. planPath on a 200-version matrix (target < 10 ms) vs a plain BFS a script would write.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import knexFactory from 'knex';
import {
  assess,
  loadRelease,
  plan,
  planPath,
  probeLocal,
  probeRemote,
  SshSession,
} from '../packages/core/src/index.js';
import { createTestDatabase, requireService, sshArgs, startSshd } from '../test/support/index.js';

const run = promisify(execFile);
const out = (line: string) => process.stdout.write(`${line}\n`);

async function median(fn: () => Promise<unknown> | unknown, runs: number, warmup = 1): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs + warmup; i++) {
    const started = performance.now();
    await fn();
    if (i >= warmup) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}× the time`;

// 1. Local resources, with the same 250 ms CPU window on both sides, and without it.
{
  const dir = tmpdir();
  const ours = await median(() => probeLocal([dir], { sampleMs: 250 }), 7);
  const shell = await median(
    () =>
      run('sh', [
        '-c',
        'df -P "$1"; free -b; nproc; head -n 1 /proc/stat; sleep 0.25; head -n 1 /proc/stat',
        'sh',
        dir,
      ]),
    7,
  );
  const oursNoCpu = await median(() => probeLocal([dir], { sampleMs: 0 }), 15);
  const three = await median(
    () => Promise.all([run('df', ['-P', dir]), run('free', ['-b']), run('nproc')]),
    15,
  );
  out('local resource check (target ≤ 1 s):');
  out(`  probeLocal, 250 ms CPU window:          ${ours.toFixed(1)} ms (${ours <= 1000 ? 'PASS' : 'MISS'})`);
  out(`  sh: df -P; free -b; nproc; /proc/stat:  ${shell.toFixed(1)} ms   ratio ${ratio(ours, shell)}`);
  out(`  probeLocal, no CPU window:              ${oursNoCpu.toFixed(2)} ms`);
  out(`  df -P + free -b + nproc (3 processes):  ${three.toFixed(2)} ms   ratio ${ratio(oursNoCpu, three)}`);
}

// 2. A remote host over real sshd.
if (await requireService('sshd')) {
  const host = await startSshd({ host: '127.0.0.2' });
  const ssh = await SshSession.connect({
    host: host.host,
    port: host.port,
    username: host.user,
    privateKeyPath: host.client.privateKeyPath,
    hostKeys: { policy: 'strict', knownHostsPath: host.knownHostsPath },
  });
  const ours = await median(() => probeRemote('h', ssh, ['/'], { sampleMs: 250, timeoutMs: 10_000 }), 5);
  const perCommand = await median(async () => {
    for (const cmd of [['df', '-P', '/'], ['free', '-b'], ['nproc'], ['head', '-n', '1', '/proc/stat']]) {
      await ssh.exec(cmd);
    }
    await new Promise((r) => setTimeout(r, 250));
    await ssh.exec(['head', '-n', '1', '/proc/stat']);
  }, 5);
  const sshCli = await median(async () => {
    for (const cmd of [
      'df -P /',
      'free -b',
      'nproc',
      'head -n 1 /proc/stat',
      'sleep 0.25; head -n 1 /proc/stat',
    ]) {
      await run('ssh', [...sshArgs(host), cmd]);
    }
  }, 3);
  out('remote resource check (one host, 250 ms CPU window):');
  out(`  probeRemote, one round trip:             ${ours.toFixed(1)} ms`);
  out(
    `  five exec()s on the same session:        ${perCommand.toFixed(1)} ms   ratio ${ratio(ours, perCommand)}`,
  );
  out(`  five \`ssh host cmd\` runs (script way):   ${sshCli.toFixed(1)} ms   ratio ${ratio(ours, sshCli)}`);
  await ssh.close();
  await host.stop();
}

// 3. 500 tasks, 50 quality checks on MariaDB.
if (await requireService('mariadb')) {
  const db = await createTestDatabase('mariadb', 'ukbench');
  const knex = knexFactory({ ...db.config, pool: { min: 0, max: 4 } });
  await knex.raw(
    'CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, user_id INT NULL, amount INT, status VARCHAR(16))',
  );
  await knex('orders').insert(
    Array.from({ length: 1000 }, (_, i) => ({
      user_id: i % 97 === 0 ? null : i,
      amount: (i % 50) - 3,
      status: `s${i % 7}`,
    })),
  );
  for (let i = 0; i < 6; i++)
    await knex.raw('INSERT INTO orders (user_id, amount, status) SELECT user_id, amount, status FROM orders');
  const [[{ n }]] = await knex.raw('SELECT COUNT(*) AS n FROM orders');
  const checks = Array.from({ length: 50 }, (_, i) => ({
    id: `c${i}`,
    sql: `SELECT COUNT(*) FROM orders WHERE amount < ${-(i % 4)} AND status <> 's${i % 7}'`,
  }));
  const dir = mkdtempSync(join(tmpdir(), 'uk-bench-assess-'));
  writeFileSync(
    join(dir, 'upgradekit.yaml'),
    `component: bench\ndatasources:\n  main: { type: mariadb }\ndefaults:\n  datasource: main\ndataQuality:\n${checks
      .map((c) => `  - { id: ${c.id}, sql: "${c.sql}", threshold: 1000000 }`)
      .join('\n')}\n`,
  );
  for (let v = 0; v < 50; v++) {
    mkdirSync(join(dir, `versions/5.0.${v + 1}`), { recursive: true });
    writeFileSync(join(dir, `versions/5.0.${v + 1}/a.sql`), 'SELECT 1;\n');
    const tasks = Array.from(
      { length: 10 },
      (_, i) =>
        `  - { id: t${i}, kind: sql, stage: ${['pre_stop', 'in_stop', 'post_start'][i % 3]}, file: a.sql, compatibleFrom: 5.0.0, estimate: ${
          i === 0
            ? '{ query: "SELECT COUNT(*) FROM orders", rate: 20000 }'
            : `{ rows: ${1000 * i}, rate: 500 }`
        } }`,
    );
    writeFileSync(join(dir, `versions/5.0.${v + 1}/tasks.yaml`), `tasks:\n${tasks.join('\n')}\n`);
  }
  const release = await loadRelease(dir);
  const p = plan({ release, from: '5.0.0', to: '5.0.50' });
  const options = {
    release,
    connections: { main: knex },
    local: { paths: [tmpdir()] },
    thresholds: { cpuIdlePercent: 0, memoryBytes: 0 },
  };
  let last: Awaited<ReturnType<typeof assess>> | undefined;
  const ours = await median(async () => {
    last = await assess(p, options);
  }, 5);
  const c = db.connection;
  const cli = await median(async () => {
    for (const check of checks) {
      await run('mariadb', [
        '-h',
        c.host,
        '-P',
        String(c.port),
        '-u',
        c.user,
        '-N',
        '-B',
        c.database,
        '-e',
        check.sql,
      ]);
    }
  }, 3);
  out(
    `assess(): ${p.tasks.length} tasks, ${checks.length} quality checks over ${n} rows on MariaDB (target < 2 s):`,
  );
  out(
    `  assess (resources + backup size + checks + volume queries):    ${ours.toFixed(0)} ms (${ours < 2000 ? 'PASS' : 'MISS'})`,
  );
  out(
    `  the 50 checks alone, one \`mariadb -e\` each (script way):      ${cli.toFixed(0)} ms   ratio ${ratio(ours, cli)}`,
  );
  out(
    `  verdict ${last!.verdict}, ${last!.dataQuality.checks.length} checks, ${last!.duration.tasks.length} task estimates`,
  );
  await knex.destroy();
  await db.drop();
}

// 4. planPath over 200 versions, each with 3 progressive targets and a jump every 10.
{
  const versions = Array.from({ length: 200 }, (_, i) => `7.${Math.floor(i / 10)}.${i % 10}`);
  const make = () => {
    const m: Record<string, { progressive: string[]; direct?: string[] }> = {};
    versions.forEach((v, i) => {
      m[v] = {
        progressive: versions.slice(i + 1, i + 4),
        ...(i % 10 === 5 ? { direct: versions.slice(i + 10, i + 11) } : {}),
      };
    });
    return m;
  };
  const from = versions[0]!;
  const to = versions[199]!;
  const cold = await median(() => planPath(make(), from, to), 21);
  const matrix = make();
  const warm = await median(() => planPath(matrix, from, to), 51);
  // A script's BFS over the raw strings: fewest hops only, no validation, no ties, no estimates.
  const bfs = () => {
    const prev = new Map<string, string>([[from, '']]);
    const queue = [from];
    while (queue.length) {
      const v = queue.shift()!;
      if (v === to) break;
      const e = matrix[v];
      for (const t of [...(e?.direct ?? []), ...(e?.progressive ?? [])]) {
        if (!prev.has(t)) {
          prev.set(t, v);
          queue.push(t);
        }
      }
    }
    const path = [];
    for (let v = to; v; v = prev.get(v)!) path.unshift(v);
    return path;
  };
  const naive = await median(bfs, 51);
  out('planPath over a 200-version matrix (target < 10 ms):');
  out(
    `  first call (validates and builds the graph): ${cold.toFixed(2)} ms (${cold < 10 ? 'PASS' : 'MISS'})`,
  );
  out(`  later calls (graph cached):                   ${warm.toFixed(3)} ms`);
  out(
    `  plain BFS over the strings (baseline):        ${naive.toFixed(3)} ms   ratio cold ${ratio(cold, naive)}, warm ${ratio(warm, naive)}`,
  );
  out(`  hops: ${planPath(matrix, from, to).hops.length} (BFS: ${bfs().length - 1})`);
}

// How a bad-input case is run and judged: the real CLI (its `main`, in this process, so 200+ cases
// take seconds; FIFO cases as a child process, since a blocking read would hang this one), and
// byte-level snapshots of everything a run could write — the working directory, the application
// database and the state database.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { bin } from '../../packages/cli/test/support.js';
import { settings } from '../support/index.js';

export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLEARED = ['UPGRADEKIT_CONFIG', 'UPGRADEKIT_SITE', 'UPGRADEKIT_RELEASE'];

/** `upgradekit <argv>` through the CLI's own entry point, with this cwd and these variables. */
export async function inProcess(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<Outcome> {
  const { main } = await import('../../packages/cli/src/main.js');
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write, err: process.stderr.write };
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const capture = (into: string[]) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof process.stdout.write;
  for (const name of CLEARED) delete process.env[name];
  Object.assign(process.env, { CI: 'true', NO_COLOR: '1' });
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  process.chdir(cwd);
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } catch (error) {
    // main never throws: if it does, that is a finding, shown with what it printed.
    return { code: null, stdout: out.join(''), stderr: `${err.join('')}\nTHREW: ${String(error)}` };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    process.chdir(savedCwd);
    for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
    Object.assign(process.env, savedEnv);
  }
}

/** The installed command as a child process, bounded: a case that hangs fails instead. */
export function spawned(
  argv: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string | undefined>> = {},
): Outcome {
  const base: Record<string, string | undefined> = { ...process.env, CI: 'true', NO_COLOR: '1' };
  for (const name of CLEARED) delete base[name];
  const r = spawnSync(process.execPath, [bin, ...argv], {
    cwd,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return {
    code: r.status,
    stdout: r.stdout,
    stderr: r.stderr + (r.error ? `\nSPAWN: ${r.error.message}` : ''),
  };
}

/** Every entry under `dir`: type, and the sha256 of a file's bytes (a FIFO is never opened). */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (path: string, rel: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) out[key] = `link ${readlinkSync(full)}`;
      else if (st.isDirectory()) {
        out[key] = 'dir';
        walk(full, key);
      } else if (st.isFile()) out[key] = createHash('sha256').update(readFileSync(full)).digest('hex');
      else out[key] = 'special';
    }
  };
  walk(dir, '');
  return out;
}

/** The databases whose names start with `prefix`: their tables and each table's checksum. */
export async function databaseSnapshot(prefix: string): Promise<Record<string, string>> {
  const c = await mysql.createConnection({ ...settings.mariadb, database: undefined });
  try {
    const [schemas] = (await c.query(
      'SELECT schema_name AS s FROM information_schema.schemata WHERE schema_name LIKE ? ORDER BY 1',
      [`${prefix}%`],
    )) as unknown as [{ s: string }[]];
    const [tables] = (await c.query(
      'SELECT table_schema AS s, table_name AS t FROM information_schema.tables WHERE table_schema LIKE ? ORDER BY 1, 2',
      [`${prefix}%`],
    )) as unknown as [{ s: string; t: string }[]];
    const out: Record<string, string> = {};
    for (const s of schemas) out[s.s] = 'database';
    if (tables.length > 0) {
      const [sums] = (await c.query(
        `CHECKSUM TABLE ${tables.map((t) => `\`${t.s}\`.\`${t.t}\``).join(', ')} EXTENDED`,
      )) as unknown as [{ Table: string; Checksum: number | null }[]];
      for (const row of sums) out[row.Table] = String(row.Checksum);
    }
    return out;
  } finally {
    await c.end();
  }
}

/** A stack trace line, as Node prints one. */
export const STACK = /^\s+at\s.+(:\d+:\d+\)?|\((native|<anonymous>)\))$/m;

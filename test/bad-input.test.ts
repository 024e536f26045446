// Issue 19: every bad input is a clear error before anything runs. A seeded corpus of malformed
// inputs (test/bad-input/corpus.ts), each run through the real CLI against a real MariaDB
// application database and state database: exit 2, the place named (file:line and field, or the
// argument), no stack trace, and the working directory and both databases byte-identical after.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, requireService, type TestDatabase } from '#test-support';
import { baseFiles, type Case, corpus, type Entry, RUN } from './bad-input/corpus.js';
import {
  databaseSnapshot,
  inProcess,
  type Outcome,
  STACK,
  spawned,
  treeSnapshot,
} from './bad-input/harness.js';

const hasMariaDB = await requireService('mariadb');
const PREFIX = `ukbad_${process.pid}`;

function write(dir: string, files: Readonly<Record<string, Entry>>): void {
  for (const [path, entry] of Object.entries(files)) {
    const full = join(dir, path);
    rmSync(full, { recursive: true, force: true });
    if (entry === null) continue;
    mkdirSync(dirname(full), { recursive: true });
    if (typeof entry === 'string' || Buffer.isBuffer(entry)) writeFileSync(full, entry);
    else if ('dir' in entry) mkdirSync(full);
    else if ('fifo' in entry) execFileSync('mkfifo', [full]);
    else symlinkSync(entry.symlink, full);
  }
}

describe.runIf(hasMariaDB)('issue 19: a corpus of bad inputs, each refused before anything runs', () => {
  let app: TestDatabase;
  let state: TestDatabase;
  let base: string;
  let cases: Case[] = [];
  beforeAll(async () => {
    app = await createTestDatabase('mariadb', `${PREFIX}_app`);
    state = await createTestDatabase('mariadb', `${PREFIX}_state`);
    base = mkdtempSync(join(tmpdir(), 'uk-bad-base-'));
    write(base, baseFiles(app.name, state.name));
  });
  afterAll(async () => {
    await app?.drop();
    await state?.drop();
  });

  // The corpus needs the databases' names; they are fixed here so `it` can be declared now.
  const names = corpus('APP', 'STATE');
  it('has at least 200 cases, all different', () => {
    expect(names.length).toBeGreaterThanOrEqual(200);
    expect(new Set(names.map((c) => c.name)).size).toBe(names.length);
  });

  const failures: string[] = [];
  afterAll(() => {
    if (failures.length)
      process.stderr.write(`\n[bad-input] ${failures.length} cases failed:\n${failures.join('\n')}\n`);
  });

  for (const [index, named] of names.entries()) {
    it(named.name, async () => {
      cases = cases.length ? cases : corpus(app.name, state.name);
      const c = cases[index] as Case;
      const dir = mkdtempSync(join(tmpdir(), 'uk-bad-'));
      cpSync(base, dir, { recursive: true });
      write(dir, c.files ?? {});
      const beforeTree = treeSnapshot(dir);
      const beforeDb = await databaseSnapshot(PREFIX);
      const argv = c.argv ?? RUN;
      const r: Outcome = c.spawn ? spawned(argv, dir, c.env) : await inProcess(argv, dir, c.env);
      const shown = `exit ${r.code}\n--- stderr\n${r.stderr.slice(0, 3000)}\n--- stdout\n${r.stdout.slice(0, 1000)}`;
      try {
        expect(r.code, shown).toBe(2);
        for (const where of c.where) expect(r.stderr, shown).toMatch(where);
        expect(r.stderr, shown).not.toMatch(STACK);
        expect(treeSnapshot(dir), 'the working directory changed').toEqual(beforeTree);
        expect(await databaseSnapshot(PREFIX), 'a database changed').toEqual(beforeDb);
      } catch (error) {
        failures.push(
          `- ${c.name}: exit ${r.code}: ${r.stderr.split('\n').filter(Boolean).slice(0, 3).join(' | ').slice(0, 300)}`,
        );
        throw error;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('the in-process harness agrees with the installed command (a sample, as child processes)', () => {
    const sample = cases.length ? cases : corpus(app.name, state.name);
    const picks = [0, 40, 120, 200, sample.length - 1].map((i) => sample[i] as Case);
    for (const c of picks) {
      const dir = mkdtempSync(join(tmpdir(), 'uk-bad-'));
      cpSync(base, dir, { recursive: true });
      write(dir, c.files ?? {});
      const r = spawned(c.argv ?? RUN, dir, c.env);
      expect(r.code, `${c.name}\n${r.stderr}`).toBe(2);
      for (const where of c.where) expect(r.stderr, c.name).toMatch(where);
      expect(r.stderr, c.name).not.toMatch(STACK);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an unknown key is named once, on its line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-bad-'));
    cpSync(base, dir, { recursive: true });
    write(dir, {
      'site.yaml': `datasources:\n  main: { host: 127.0.0.1, database: ${app.name}, passwd: x }\n`,
    });
    const r = await inProcess(RUN, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/site\.yaml:2 datasources\.main: Unrecognized key: "passwd"$/m);
  });

  it('the base itself runs and writes (so the snapshots above could have seen a change)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'uk-bad-'));
    cpSync(base, dir, { recursive: true });
    const before = await databaseSnapshot(PREFIX);
    const r = await inProcess(RUN, dir);
    expect(r.code, r.stderr).toBe(0);
    const after = await databaseSnapshot(PREFIX);
    expect(after).not.toEqual(before);
    expect(Object.keys(after).some((k) => k.endsWith('.notes'))).toBe(true);
  });
});

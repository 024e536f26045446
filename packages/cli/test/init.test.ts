// `upgradekit init`: the release it writes names JSON Schemas an editor can really open — from the
// file's own directory, wherever the release is — and the YAML validates against them; the first
// plan a newcomer sees is a rolling one.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAgainstItsSchema, schemaOf } from '../../../test/docs/tutorial-json-schema.js';
import { cli, root } from './support.js';

const MANIFEST_ID = 'https://upgradekit.dev/schema/upgradekit.schema.json';
const TASKS_ID = 'https://upgradekit.dev/schema/tasks.schema.json';

function checkRelease(release: string, version: string) {
  const manifest = checkAgainstItsSchema(join(release, 'upgradekit.yaml'), MANIFEST_ID);
  expect(manifest.problems).toEqual([]);
  const tasks = checkAgainstItsSchema(join(release, 'versions', version, 'tasks.yaml'), TASKS_ID);
  expect(tasks.problems).toEqual([]);
  return { manifest: manifest.schemaFile, tasks: tasks.schemaFile };
}

describe('init: schemas for editors', () => {
  it('outside any project: both files name the schemas of the core this command runs with', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-init-schema-'));
    for (const type of ['sqlite', 'mariadb', 'postgres', 'clickhouse']) {
      const r = cli(
        ['init', `rel-${type}`, '--component', 'billing', '--first-version', '3.1.0', '--datasource', type],
        {
          cwd,
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const files = checkRelease(join(cwd, `rel-${type}`), '3.1.0');
      // The installed copy: this checkout's packages/core (node_modules/@upgradekit/core links there).
      expect(realpathSync(files.manifest)).toBe(join(root, 'packages/core/schema/upgradekit.schema.json'));
      expect(realpathSync(files.tasks)).toBe(join(root, 'packages/core/schema/tasks.schema.json'));
      // The path is relative to each file: the one in versions/3.1.0/ climbs two more levels.
      const manifestPath = schemaOf(join(cwd, `rel-${type}`, 'upgradekit.yaml')) ?? '';
      expect(manifestPath).toMatch(/^\.\.\//);
      expect(schemaOf(join(cwd, `rel-${type}`, 'versions/3.1.0/tasks.yaml'))).toBe(
        `../../${manifestPath.replace('upgradekit.schema.json', 'tasks.schema.json')}`,
      );
    }
  });

  it("inside a project with its own node_modules: the project's copy, so the path holds for every checkout", () => {
    const project = mkdtempSync(join(tmpdir(), 'uk-init-project-'));
    mkdirSync(join(project, 'node_modules/@upgradekit'), { recursive: true });
    symlinkSync(join(root, 'packages/core'), join(project, 'node_modules/@upgradekit/core'));
    const r = cli(['init', 'releases/billing', '--component', 'billing'], { cwd: project });
    expect(r.status, r.stderr).toBe(0);
    const release = join(project, 'releases/billing');
    expect(schemaOf(join(release, 'upgradekit.yaml'))).toBe(
      '../../node_modules/@upgradekit/core/schema/upgradekit.schema.json',
    );
    expect(schemaOf(join(release, 'versions/1.0.0/tasks.yaml'))).toBe(
      '../../../../node_modules/@upgradekit/core/schema/tasks.schema.json',
    );
    checkRelease(release, '1.0.0');
  });

  it('the schema check is not a formality: a typo in the generated YAML is found', async () => {
    const { writeFileSync } = await import('node:fs');
    const cwd = mkdtempSync(join(tmpdir(), 'uk-init-typo-'));
    expect(cli(['init', 'rel', '--component', 'billing'], { cwd }).status).toBe(0);
    const tasks = join(cwd, 'rel/versions/1.0.0/tasks.yaml');
    writeFileSync(
      tasks,
      readFileSync(tasks, 'utf8').replace('stage: in_stop', 'stage: in-stop\n    timout: 5m'),
    );
    const { problems } = checkAgainstItsSchema(tasks, TASKS_ID);
    expect(problems.join('\n')).toContain('$.tasks[0].stage: "in-stop" is not one of');
    expect(problems.join('\n')).toContain('$.tasks[0]: timout is not allowed');
    // …and upgradekit itself refuses the same file (exit 2), as the editor warned.
    const plan = cli(['plan', '--release', 'rel', '--from', '0.0.0', '--to', '1.0.0'], { cwd });
    expect(plan.status).toBe(2);
  });
});

describe('init: the first plan', () => {
  it('is rolling mode (the example task is compatible with any running version) and runs', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'uk-init-plan-'));
    expect(cli(['init', 'rel', '--component', 'billing', '--first-version', '3.1.0'], { cwd }).status).toBe(
      0,
    );
    for (const from of ['0.0.0', '3.0.0']) {
      const plan = cli(['plan', '--release', 'rel', '--from', from, '--to', '3.1.0'], { cwd });
      expect(plan.status, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`billing ${from} → 3.1.0 on site default: 1 task, rolling mode`);
      expect(plan.stdout).not.toContain('stop mode');
    }
    // What init says next names the version a new site is at, which the command leaves to the operator.
    const init = cli(['init', 'again', '--component', 'billing'], { cwd });
    expect(init.stdout).toContain(
      'add the version running now after --from (0.0.0 where nothing is installed yet):',
    );
    const json = cli(['plan', '--json', '--release', 'rel', '--from', '0.0.0', '--to', '3.1.0'], {
      cwd,
    }).json();
    expect(json.mode).toBe('rolling');
    const run = cli(['run', '--release', 'rel', '--from', '0.0.0', '--to', '3.1.0'], { cwd });
    expect(run.status, run.stderr).toBe(0);
  });
});

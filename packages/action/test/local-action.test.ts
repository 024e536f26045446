// The Action's sources run by @github/local-action, which stubs @actions/core and prints the
// outputs it recorded: the check the issue asks for, next to action.test.ts's bundle runs.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const demo = join(root, 'examples/demo');

/** tsx runs the entrypoint; point it at core's sources so a stale or missing dist/ cannot matter. */
const tsconfig = join(mkdtempSync(join(tmpdir(), 'uk-la-tsconfig-')), 'tsconfig.json');
writeFileSync(
  tsconfig,
  JSON.stringify({
    compilerOptions: {
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      baseUrl: root,
      paths: { '@upgradekit/core': ['packages/core/src/index.ts'] },
    },
  }),
);

interface LocalRun extends SpawnSyncReturns<string> {
  outputs: Record<string, string>;
  summary: string;
}

function localAction(inputs: Record<string, string>): LocalRun {
  const dir = mkdtempSync(join(tmpdir(), 'uk-la-run-'));
  const runnerTemp = join(dir, 'run');
  mkdirSync(runnerTemp);
  const summaryFile = join(runnerTemp, 'summary.md');
  writeFileSync(summaryFile, '');
  // local-action reads inputs and runner variables from a dotenv file, not from its environment.
  const envFile = join(dir, '.env');
  const vars = {
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    RUNNER_TEMP: runnerTemp,
    GITHUB_STEP_SUMMARY: summaryFile,
  };
  const lines = Object.entries(vars).map(([k, v]) => `${k}=${v}\n`);
  writeFileSync(envFile, lines.join(''));
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(base))
    if (key.startsWith('INPUT_') || key.startsWith('GITHUB_')) delete base[key];
  delete base.GITEA_ACTIONS;
  // Its launcher runs `npm exec tsx`, so npm must stay on PATH.
  const result = spawnSync(
    join(root, 'node_modules/.bin/local-action'),
    ['run', root, 'packages/action/src/index.ts', envFile],
    {
      cwd: root,
      env: { ...base, TSX_TSCONFIG_PATH: tsconfig, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 90_000,
    },
  );
  // After the "Action Outputs" heading, a console.table: `│ 0 │ 'status' │ 'planned' │`.
  const outputs: Record<string, string> = {};
  const at = result.stdout.indexOf('Action Outputs');
  if (at >= 0) {
    for (const m of result.stdout.slice(at).matchAll(/^│\s*\d+\s*│\s*'([\w-]+)'\s*│\s*'(.*?)'\s*│$/gm)) {
      outputs[m[1] as string] = m[2] as string;
    }
  }
  return Object.assign(result, { outputs, summary: readFileSync(summaryFile, 'utf8') });
}

describe('the Action under @github/local-action', { timeout: 120_000 }, () => {
  it('stubs the root @actions/core (npm ls top level), or nothing is recorded', () => {
    // local-action stubs only the package that top-level `npm ls` reports; without the root
    // devDependency the real core runs and the outputs below silently vanish.
    const ls = spawnSync('npm', ['ls', '@actions/core', '--json', '--long'], {
      cwd: root,
      encoding: 'utf8',
    });
    const tree = JSON.parse(ls.stdout) as { dependencies?: Record<string, { path?: string }> };
    expect(
      tree.dependencies?.['@actions/core']?.path,
      '@actions/core must be a root devDependency (same major as packages/action) for local-action to stub it',
    ).toBe(join(root, 'node_modules/@actions/core'));
  });

  it('plan: outputs recorded by the stub, a JSON report and the job summary', () => {
    const r = localAction({ command: 'plan', release: demo, from: '2.16.5', to: '2.16.7' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toContain('No outputs were set!');
    expect(r.outputs.status).toBe('planned');
    expect(r.outputs['upgrade-mode']).toBe('stop');
    const reportPath = r.outputs.report as string;
    expect(existsSync(reportPath), reportPath).toBe(true);
    const report = JSON.parse(readFileSync(reportPath, 'utf8')) as {
      command: string;
      plan: { mode: string; tasks: unknown[] };
    };
    expect(report.command).toBe('plan');
    expect(report.plan.mode).toBe('stop');
    expect(report.plan.tasks).toHaveLength(5);
    expect(r.summary).toContain('### Plan: demo-shop 2.16.5 → 2.16.7 on site default — stop mode, 5 tasks');
  });

  it('bad input: an error annotation, and the status says bad-input', () => {
    const r = localAction({ command: 'bogus', release: demo });
    // The stubbed setFailed only records the failure, so local-action itself still exits 0.
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('::error::');
    expect(r.stdout).toContain('UPGRADEKIT_BAD_INPUT');
    expect(r.outputs.status).toBe('bad-input');
  });
});

// The Action as a runner starts it: the committed bundle, copied where no node_modules can help
// it, run by `node` with INPUT_* variables and temporary GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../..', import.meta.url));
export const committed = join(root, 'packages/action/dist/index.mjs');
export const demo = join(root, 'examples/demo');

/** The bundle alone in a fresh directory: what a runner has after checking out the action. */
const isolated = mkdtempSync(join(tmpdir(), 'uk-action-bundle-'));
copyFileSync(committed, join(isolated, 'index.mjs'));

export interface ActionRun extends SpawnSyncReturns<string> {
  outputs: Record<string, string>;
  summary: string;
}

export function action(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  options: { readonly cwd?: string /** Another Node binary than this one. */; readonly node?: string } = {},
): ActionRun {
  const dir = mkdtempSync(join(tmpdir(), 'uk-action-run-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary.md');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]),
  );
  const base: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(base))
    if (key.startsWith('INPUT_') || key.startsWith('GITHUB_')) delete base[key];
  delete base.GITEA_ACTIONS;
  const result = spawnSync(options.node ?? process.execPath, [join(isolated, 'index.mjs')], {
    cwd: options.cwd ?? dir,
    env: {
      ...base,
      ...inputEnv,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: dir,
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  // GITHUB_OUTPUT holds `name<<delimiter\nvalue\ndelimiter` blocks.
  const outputs: Record<string, string> = {};
  for (const m of readFileSync(outputFile, 'utf8').matchAll(/^([\w-]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) {
    outputs[m[1] as string] = m[3] as string;
  }
  return Object.assign(result, { outputs, summary: readFileSync(summaryFile, 'utf8') });
}

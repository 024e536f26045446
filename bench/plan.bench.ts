// plan() over 10,000 tasks (target < 100 ms), beside the filter-and-sort a script would write
// with semver directly — which gets post-release versions (2.16.7-P1) wrong, but sets the pace.
import semver from 'semver';
import { plan, type Release, type Task } from '../packages/core/src/index.js';

const tasks: Task[] = Array.from({ length: 10_000 }, (_, i) => ({
  id: `t${i}`,
  version: `3.${Math.floor(i / 100)}.${i % 100}`,
  kind: 'sql',
  stage: (['pre_stop', 'in_stop', 'post_start'] as const)[i % 3]!,
  checksum: String(i),
  source: { file: 'tasks.yaml', line: i + 1 },
  compatibleFrom: '3.0.0',
  ...(i % 7 === 0 ? { sites: { exclude: ['site-7'] } } : {}),
}));
const release: Release = { dir: '/r', component: 'c', datasources: {}, defaults: {}, versions: [], tasks };

function median(fn: () => unknown, runs = 30): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 5; i++) {
    const started = performance.now();
    fn();
    if (i >= 5) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

const ours = median(() => plan({ release, from: '3.0.5', to: '3.99.99', site: 'site-7' }));
const naive = median(() =>
  tasks
    .filter(
      (t) =>
        semver.gt(t.version, '3.0.5') &&
        semver.lte(t.version, '3.99.99') &&
        !t.sites?.exclude?.includes('site-7'),
    )
    .sort((a, b) => semver.compare(a.version, b.version)),
);
process.stdout.write(
  `plan() over 10,000 tasks:        ${ours.toFixed(2)} ms (target < 100 ms: ${ours < 100 ? 'PASS' : 'MISS'})\n`,
);
process.stdout.write(`semver filter + sort (baseline): ${naive.toFixed(2)} ms\n`);
process.stdout.write(`ratio: ${(ours / naive).toFixed(2)}×\n`);

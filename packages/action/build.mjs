// Bundles the Action into one ESM file for Node 20+ (`runs.using: node24` on GitHub; some Gitea
// runner images still have Node 20). @actions/core 3 is ESM-only, hence ESM and a bundle.
import { build } from 'esbuild';

// Native modules cannot be inlined; knex's drivers for databases upgradekit does not support are
// never loaded. `require` for those is made real, so a missing one is a clear "Cannot find module".
const external = [
  'better-sqlite3',
  'mariadb',
  'mariadb/callback',
  'sqlite3',
  'mysql',
  'oracledb',
  'pg-native',
  'pg-query-stream',
  'tedious',
  'cpu-features',
  '*.node',
];

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export async function bundle(outfile = new URL('./dist/index.mjs', import.meta.url).pathname) {
  await build({
    // From the core's sources, not its build: the bundle never depends on a stale dist, and a
    // fresh clone reproduces it byte for byte (paths in it are relative to the repository).
    absWorkingDir: root,
    alias: { '@upgradekit/core': `${root}/packages/core/src/index.ts` },
    entryPoints: [new URL('./src/main.ts', import.meta.url).pathname],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
    banner: {
      // CommonJS dependencies (ssh2, knex) expect require, __filename and __dirname.
      js: [
        "import { createRequire as __ukCreateRequire } from 'node:module';",
        "import { fileURLToPath as __ukFileURLToPath } from 'node:url';",
        "import { dirname as __ukDirname } from 'node:path';",
        'const require = __ukCreateRequire(import.meta.url);',
        'const __filename = __ukFileURLToPath(import.meta.url);',
        'const __dirname = __ukDirname(__filename);',
      ].join(' '),
    },
  });
  return outfile;
}

if (process.argv[1] === new URL(import.meta.url).pathname) await bundle(process.argv[2]);

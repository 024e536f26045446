// Issue 19's corpus: a seeded generator of malformed inputs over every file and argument a user
// gives upgradekit — upgradekit.yaml, tasks.yaml, version directories, the seed's .properties,
// SQL files, the site configuration, CLI arguments. Every case must exit 2, name where the problem
// is (file:line and field, or the argument), print no stack trace, and write nothing anywhere.
import { stringify } from 'yaml';

/** A file's new content, or what to put in its place. `null` deletes it. */
export type Entry =
  | string
  | Buffer
  | null
  | { readonly dir: true }
  | { readonly fifo: true }
  | { readonly symlink: string };

export interface Case {
  readonly name: string;
  /** Paths under the working directory (release/…, site.yaml) → what to write there. */
  readonly files?: Readonly<Record<string, Entry>>;
  /** The arguments; default the base run. */
  readonly argv?: readonly string[];
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Everything stderr must name: the file and line, the field or the argument. */
  readonly where: readonly RegExp[];
  /** Run as a child process (a FIFO would block this process's synchronous read). */
  readonly spawn?: boolean;
}

export const RUN = [
  'run',
  '--yes',
  '--config',
  'site.yaml',
  '--release',
  'release',
  '--from',
  '1.0.0',
  '--to',
  '1.2.0',
];

export const MANIFEST = {
  component: 'ledger',
  datasources: { main: { type: 'mariadb' } },
  defaults: { datasource: 'main' },
};
export const TASK = {
  id: 'add-notes',
  kind: 'sql',
  stage: 'pre_stop',
  file: 'add-notes.sql',
  compatibleFrom: '1.0.0',
};
const PROPERTIES = {
  'sql.fill.file': 'fill.sql',
  'sql.fill.stage': 'pre_stop',
  'sql.fill.compatible_version': '1.0.0',
  'sql.fill.idempotent': 'true',
};
const PROPS_PATH = 'release/versions/1.2.0/upgrade_tasks_V1.2.0.properties';
const TASKS_PATH = 'release/versions/1.1.0/tasks.yaml';

function site(app: string, state: string): Record<string, unknown> {
  return {
    site: 'site-a',
    assessment: { thresholds: { cpuIdlePercent: 0 } },
    datasources: { main: { host: '127.0.0.1', port: 3306, user: 'root', database: app } },
    state: { client: 'mariadb', host: '127.0.0.1', port: 3306, user: 'root', database: state },
  };
}

const properties = (p: Record<string, string>) =>
  `${Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;

/** The valid base every case changes: a run of it succeeds and writes (the sanity case). */
export function baseFiles(app: string, state: string): Record<string, Entry> {
  return {
    'release/upgradekit.yaml': stringify(MANIFEST),
    [TASKS_PATH]: stringify({ tasks: [TASK] }),
    'release/versions/1.1.0/add-notes.sql':
      "CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100));\nINSERT INTO notes VALUES (1, 'a');\n",
    [PROPS_PATH]: properties(PROPERTIES),
    'release/versions/1.2.0/fill.sql': "INSERT INTO notes VALUES (2, 'b');\n",
    'site.yaml': stringify(site(app, state)),
  };
}

/** mulberry32: the corpus is the same on every machine and every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALIAS_BOMB = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
`;

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The file types a path can wrongly be, each with what stderr must say. */
function wrongKinds(path: string, label: string): Case[] {
  const where = [new RegExp(esc(path.replace(/^release\//, '')))];
  return [
    { name: `${label} is a directory`, files: { [path]: { dir: true } }, where },
    { name: `${label} is a FIFO`, files: { [path]: { fifo: true } }, where, spawn: true },
    {
      name: `${label} is a symlink out of the release`,
      files: { [path]: { symlink: '/etc/hostname' } },
      where,
    },
    { name: `${label} is binary`, files: { [path]: Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0x1b]) }, where },
    { name: `${label} is a YAML alias bomb`, files: { [path]: ALIAS_BOMB }, where },
  ];
}

// Field → values the schema must refuse. A value is YAML-serialised into the file.
const TASK_FIELDS: Record<string, unknown[]> = {
  id: ['', 'has space', 'two\nlines', 'x'.repeat(300), '-leading', 5],
  kind: ['shell', '', 5, 'SQL'],
  stage: ['during', '', 'pre-stop', 7],
  file: ['../../../etc/passwd', '/etc/passwd', 'missing.sql', '', '../../site.yaml'],
  datasource: ['nope', '', 3],
  compatibleFrom: ['one.two', 'latest', '1..0', ''],
  timeout: [-5, 0, '10 minutes', '30d', 99_999_999_999, '700h', 'soon'],
  stopGrace: [-1, 'forever', '1000h'],
  retry: [{ attempts: 0 }, { attempts: 1.5 }, { scope: 'forever' }, { minDelay: 'soon' }, 'twice'],
  criticality: ['high', ''],
  idempotent: ['maybe', 'yes', 1],
  description: ['x'.repeat(300), 5],
  sites: [{ include: [] }, { include: [''] }, { include: ['a\nb'] }, { exclude: 'x' }, { only: ['a'] }],
  transaction: ['no'],
  estimate: [{ rows: -1 }, { unit: 'lines' }, { rate: 0 }],
  resources: [{ disk: 'lots' }, { memory: -1 }],
  check: [5],
  priority: [1],
};

const SITE_FIELDS: Record<string, unknown[]> = {
  'datasources.main.port': [0, 70_000, '3306x', -1, 3306.5],
  'datasources.main.host': ['', 5],
  'datasources.main.user': [''],
  'datasources.main.database': [''],
  'datasources.main.password': ['hunter22'],
  'datasources.main.passwd': ['hunter22'],
  'datasources.main.passwordEnv': ['lower-case!', 'A B'],
  'datasources.main.url': ['not a url'],
  'state.client': ['oracle'],
  'state.port': [0],
  'state.filename': ['x.sqlite'],
  'assessment.thresholds.cpuIdlePercent': [150, -1, 'high'],
  'assessment.thresholds.memoryBytes': [-1],
  'assessment.thresholds.diskBackupFactor': [0.5],
  'assessment.thresholds.cpu': [5],
  'assessment.localIsHost': ['yes'],
  'assessment.paths': [[]],
  site: ['two\nlines', '', 'a b', 5],
  passwd: ['x'],
  hosts: [[{ name: 'h' }], [{ name: 'h', host: '127.0.0.2', user: 'u', port: 0 }], 'h'],
  backup: [{ root: '' }, { root: '/b', colour: 1 }],
};

function setIn(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(target);
  const keys = path.split('.');
  let at = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys.at(-1) as string] = value;
  return copy;
}

const tasksFile = (task: Record<string, unknown>) => stringify({ tasks: [task] });
const fieldRe = (field: string) => new RegExp(esc(field.split('.').at(-1) as string));

/** The whole corpus for a base whose databases are `app` and `state`. */
export function corpus(app: string, state: string, seed = 19): Case[] {
  const cases: Case[] = [];
  const siteBase = site(app, state);
  const add = (c: Case) => cases.push(c);

  // upgradekit.yaml
  const manifestCases: [string, string, RegExp[]][] = [
    ['an unclosed flow sequence', 'component: [ledger\n', [/upgradekit\.yaml:\d+/]],
    [
      'a tab in the indentation',
      'component: ledger\ndatasources:\n\tmain: {type: mariadb}\n',
      [/upgradekit\.yaml:\d+/],
    ],
    ['a duplicate key', 'component: a\ncomponent: b\n', [/upgradekit\.yaml:2/]],
    ['a bare string', 'just words\n', [/upgradekit\.yaml/]],
    ['a list', '- component\n', [/upgradekit\.yaml/]],
    ['an empty file', '', [/upgradekit\.yaml/, /component/]],
    ['a number as component', stringify({ ...MANIFEST, component: 5 }), [/upgradekit\.yaml:1/, /component/]],
    [
      'a component with a newline',
      stringify({ ...MANIFEST, component: 'a\nb' }),
      [/upgradekit\.yaml:1/, /component/],
    ],
    [
      'a component with a slash',
      stringify({ ...MANIFEST, component: '../etc' }),
      [/upgradekit\.yaml:1/, /component/],
    ],
    [
      'a 300-character component',
      stringify({ ...MANIFEST, component: 'c'.repeat(300) }),
      [/upgradekit\.yaml:1/, /component/],
    ],
    [
      'a misspelt top-level key',
      stringify({ ...MANIFEST, datasorces: {} }),
      [/upgradekit\.yaml:\d+/, /datasorces/],
    ],
    [
      'an unknown engine',
      stringify({ ...MANIFEST, datasources: { main: { type: 'oracle' } } }),
      [/upgradekit\.yaml:\d+/, /type/],
    ],
    [
      'a datasource as a list',
      stringify({ ...MANIFEST, datasources: { main: ['mariadb'] } }),
      [/upgradekit\.yaml:\d+/, /main/],
    ],
    [
      'an unknown default datasource',
      stringify({ ...MANIFEST, defaults: { datasource: 'nope' } }),
      [/upgradekit\.yaml:\d+|tasks\.yaml:\d+/, /nope/],
    ],
    [
      'datasources missing',
      stringify({ component: 'ledger', defaults: { datasource: 'main' } }),
      [/:\d+/, /datasource/],
    ],
    [
      'a datasource name with a newline',
      stringify({ ...MANIFEST, datasources: { 'ma\nin': { type: 'mariadb' } } }),
      [/upgradekit\.yaml:\d+/],
    ],
    [
      'defaults.timeout garbage',
      stringify({ ...MANIFEST, defaults: { datasource: 'main', timeout: 'later' } }),
      [/upgradekit\.yaml:\d+/, /timeout/],
    ],
    [
      'defaults.timeout over 24.8 days',
      stringify({ ...MANIFEST, defaults: { datasource: 'main', timeout: '1000h' } }),
      [/upgradekit\.yaml:\d+/, /timeout/],
    ],
    [
      'defaults unknown key',
      stringify({ ...MANIFEST, defaults: { datasource: 'main', retries: 3 } }),
      [/upgradekit\.yaml:\d+/, /retries/],
    ],
    ['a missing manifest', '', [/upgradekit\.yaml/]],
  ];
  for (const [name, text, where] of manifestCases)
    add({
      name: `upgradekit.yaml: ${name}`,
      files: { 'release/upgradekit.yaml': name === 'a missing manifest' ? null : text },
      where,
    });
  for (const c of wrongKinds('release/upgradekit.yaml', 'upgradekit.yaml')) add(c);

  // tasks.yaml: every field with every value it must refuse.
  for (const [field, values] of Object.entries(TASK_FIELDS))
    for (const value of values)
      add({
        name: `tasks.yaml: ${field} = ${JSON.stringify(value).slice(0, 40)}`,
        files: { [TASKS_PATH]: tasksFile({ ...TASK, [field]: value }) },
        where: [/versions\/1\.1\.0\/tasks\.yaml:\d+/, fieldRe(field)],
      });
  for (const field of ['id', 'kind', 'stage', 'file']) {
    const { [field]: _, ...rest } = TASK as Record<string, unknown>;
    add({
      name: `tasks.yaml: ${field} missing`,
      files: { [TASKS_PATH]: tasksFile(rest) },
      where: [/tasks\.yaml:\d+/, fieldRe(field)],
    });
  }
  const tasksStructure: [string, Entry, RegExp[]][] = [
    ['tasks is a map', stringify({ tasks: { a: TASK } }), [/tasks\.yaml:\d+/, /tasks/]],
    ['tasks missing', stringify({ steps: [TASK] }), [/tasks\.yaml:\d+/, /steps|tasks/]],
    ['a duplicate task id', stringify({ tasks: [TASK, TASK] }), [/tasks\.yaml:\d+/, /duplicate/]],
    ['a task as a string', stringify({ tasks: ['add-notes'] }), [/tasks\.yaml:\d+/, /tasks\[0\]/]],
    ['a YAML syntax error', 'tasks:\n  - { id: a, kind: sql\n', [/tasks\.yaml:\d+/]],
    ['a duplicate key', 'tasks:\n  - id: a\n    id: b\n', [/tasks\.yaml:3/]],
    ['the file is a directory, not a file', { dir: true }, [/tasks\.yaml/]],
  ];
  for (const [name, entry, where] of tasksStructure)
    add({ name: `tasks.yaml: ${name}`, files: { [TASKS_PATH]: entry }, where });
  for (const c of wrongKinds(TASKS_PATH, 'tasks.yaml')) add(c);
  add({
    name: 'tasks.yaml: a sql file that is a directory',
    files: {
      'release/versions/1.1.0/add-notes.sql': null,
      'release/versions/1.1.0/add-notes.sql/x': 'SELECT 1;',
    },
    where: [/tasks\.yaml:\d+/, /file/],
  });
  add({
    name: 'tasks.yaml: a sql file that is a FIFO',
    files: { 'release/versions/1.1.0/add-notes.sql': { fifo: true } },
    where: [/tasks\.yaml:\d+/, /file/],
    spawn: true,
  });
  add({
    name: 'tasks.yaml: a sql file that is a symlink out of the release',
    files: { 'release/versions/1.1.0/add-notes.sql': { symlink: '/etc/hostname' } },
    where: [/tasks\.yaml:\d+/, /file/],
  });
  add({
    name: 'tasks.yaml: a sql task on an undeclared datasource type (clickhouse kind)',
    files: { [TASKS_PATH]: tasksFile({ ...TASK, kind: 'clickhouse' }) },
    where: [/tasks\.yaml:\d+/, /datasource/],
  });

  // Version directories.
  const versionCases: [string, Record<string, Entry>, RegExp[]][] = [
    ['versions is a file', { 'release/versions': 'x' }, [/versions/]],
    [
      'a directory that is not a version',
      { 'release/versions/abc/tasks.yaml': tasksFile({ ...TASK, id: 'x' }) },
      [/versions\/abc/],
    ],
    [
      '1.1.0 and V1.1.0',
      { 'release/versions/V1.1.0/tasks.yaml': tasksFile({ ...TASK, id: 'other' }) },
      [/V1\.1\.0/, /1\.1\.0/],
    ],
    [
      '1.1.0 and 1.1.0+build',
      { 'release/versions/1.1.0+build/tasks.yaml': tasksFile({ ...TASK, id: 'other' }) },
      [/1\.1\.0\+build/],
    ],
    [
      'a version label over 64 characters',
      { [`release/versions/1.1.0-${'a'.repeat(70)}/tasks.yaml`]: tasksFile({ ...TASK, id: 'long' }) },
      [/aaaa/],
    ],
    [
      'a -P without its number (2.16.7-P)',
      { 'release/versions/1.1.0-P/tasks.yaml': tasksFile({ ...TASK, id: 'p' }) },
      [/1\.1\.0-P/, /number/],
    ],
    [
      'a version with a space',
      { 'release/versions/1.1 .0/tasks.yaml': tasksFile({ ...TASK, id: 'sp' }) },
      [/1\.1 \.0/],
    ],
    [
      'a version directory that is a symlink out',
      { 'release/versions/1.3.0': { symlink: '/etc' } },
      [/versions\/1\.3\.0/],
    ],
  ];
  for (const [name, files, where] of versionCases) add({ name: `versions: ${name}`, files, where });

  // The seed's .properties.
  const propsCases: [string, Record<string, string>, RegExp[]][] = [
    ['idempotent=maybe', { 'sql.fill.idempotent': 'maybe' }, [/idempotent/]],
    ['idempotent=TRUE', { 'sql.fill.idempotent': 'TRUE' }, [/idempotent/]],
    ['sites=,,', { 'sql.fill.sites': ',,' }, [/sites/]],
    ['exclude_sites=,', { 'sql.fill.exclude_sites': ',' }, [/exclude_sites/]],
    ['\\uZZZZ in a value', { 'sql.fill.description': 'bad \\uZZZZ escape' }, [/description|\\u/]],
    ['an unknown stage', { 'sql.fill.stage': 'sometime' }, [/stage/]],
    ['an unknown field', { 'sql.fill.colour': 'red' }, [/colour/]],
    ['a key without a uid', { 'sql..file': 'fill.sql' }, [/sql\.\.file/]],
    ['a key of another shape', { sqlfile: 'fill.sql' }, [/sqlfile/]],
    ['timeout=-1', { 'sql.fill.timeout': '-1' }, [/timeout/]],
    ['timeout=forever', { 'sql.fill.timeout': 'forever' }, [/timeout/]],
    ['timeout over 24.8 days', { 'sql.fill.timeout': '9999999999' }, [/timeout/]],
    ['compatible_version=abc', { 'sql.fill.compatible_version': 'abc' }, [/compatible_version/]],
    ['a file out of the release', { 'sql.fill.file': '../../../site.yaml' }, [/file/]],
    ['a missing file', { 'sql.fill.file': 'nope.sql' }, [/file/]],
    ['an empty file field', { 'sql.fill.file': '' }, [/file/]],
    ['an unknown datasource', { 'sql.fill.datasource': 'nope' }, [/datasource/]],
    ['a tool without package', { 'tool.t1.stage': 'pre_stop' }, [/package/]],
    ['an id with a space', { 'sql.fill.id': 'has space' }, [/\bid\b/]],
    ['a description over 255 characters', { 'sql.fill.description': 'd'.repeat(300) }, [/description/]],
  ];
  for (const [name, change, where] of propsCases) {
    const text = properties({ ...PROPERTIES, ...change });
    add({
      name: `.properties: ${name}`,
      files: { [PROPS_PATH]: text },
      where: [/upgrade_tasks_V1\.2\.0\.properties:\d+/, ...where],
    });
  }
  add({
    name: '.properties: a key set twice',
    files: { [PROPS_PATH]: `${properties(PROPERTIES)}sql.fill.stage=in_stop\n` },
    where: [/properties:5/, /twice/],
  });
  for (const misspelt of [
    'upgrade_task_V1.2.0.properties',
    'Upgrade_tasks_V1.2.0.properties',
    'upgrade_tasks_V1.2.0.Properties',
    'upgrade-tasks-V1.2.0.properties',
    'upgrade_tasks.properties',
  ])
    add({
      name: `.properties: a misspelt file name ${misspelt}`,
      files: { [PROPS_PATH]: null, [`release/versions/1.2.0/${misspelt}`]: properties(PROPERTIES) },
      where: [new RegExp(esc(misspelt))],
    });
  add({
    name: '.properties: in the wrong version directory',
    files: {
      [PROPS_PATH]: null,
      'release/versions/1.2.0/upgrade_tasks_V1.2.1.properties': properties(PROPERTIES),
    },
    where: [/upgrade_tasks_V1\.2\.1\.properties/],
  });
  const orchestration = 'release/versions/1.2.0/upgrade_orchestration_V1.2.0.properties';
  for (const [name, text, where] of [
    ['an unknown task', 'sql.nope.stage=in_stop\n', /nope/],
    ['an unknown stage', 'sql.fill.stage=whenever\n', /whenever/],
    ['a field other than stage', 'sql.fill.file=x.sql\n', /file/],
  ] as const)
    add({
      name: `orchestration: ${name}`,
      files: { [orchestration]: text },
      where: [/upgrade_orchestration_V1\.2\.0\.properties:1/, where],
    });
  for (const c of wrongKinds(PROPS_PATH, '.properties').filter((c) => !c.name.includes('alias'))) add(c);

  // SQL files: what the splitter can refuse before anything runs.
  const sqlCases: [string, string, RegExp[]][] = [
    ['an unterminated string', "INSERT INTO notes VALUES (2, 'abc);\n", [/fill\.sql:1/]],
    ['an unterminated block comment', 'INSERT INTO notes VALUES (2, 1); /* never closed\n', [/fill\.sql:1/]],
    ['an unterminated quoted identifier', 'INSERT INTO `notes VALUES (2, 1);\n', [/fill\.sql:1/]],
    ['DELIMITER without a delimiter', 'DELIMITER\nINSERT INTO notes VALUES (2, 1);\n', [/fill\.sql:1/]],
    [
      'an undefined placeholder',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder, as an SQL file writes one
      'INSERT INTO notes VALUES (2, ${never_defined});\n',
      [/fill\.sql:1/, /never_defined/],
    ],
    ['invalid UTF-8', Buffer.from([0x49, 0x4e, 0x53, 0xff, 0xfe, 0x3b]).toString('latin1'), [/fill\.sql/]],
    ['a NUL byte', 'INSERT INTO notes VALUES (2, 1);\u0000\n', [/fill\.sql/]],
    ['an empty file', '', [/fill\.sql/]],
    ['only comments', '-- nothing here\n/* nor here */\n', [/fill\.sql/]],
  ];
  for (const [name, text, where] of sqlCases)
    add({
      name: `sql: ${name}`,
      files: {
        'release/versions/1.2.0/fill.sql': name === 'invalid UTF-8' ? Buffer.from(text, 'latin1') : text,
      },
      where,
    });

  // The site configuration.
  for (const [path, values] of Object.entries(SITE_FIELDS))
    for (const value of values)
      add({
        name: `site.yaml: ${path} = ${JSON.stringify(value).slice(0, 40)}`,
        files: { 'site.yaml': stringify(setIn(siteBase, path, value)) },
        where: [/site\.yaml:\d+/, fieldRe(path)],
      });
  const siteStructure: [string, Entry, RegExp[]][] = [
    ['a YAML syntax error', 'datasources: {main: {host: 127.0.0.1\n', [/site\.yaml:\d+/]],
    ['a list', '- a\n', [/site\.yaml/]],
    ['a duplicate key', 'site: a\nsite: b\n', [/site\.yaml:2/]],
    ['an alias bomb', ALIAS_BOMB, [/site\.yaml/]],
    [
      'the datasource as a string',
      stringify(setIn(siteBase, 'datasources.main', 'mysql://root@x/db')),
      [/site\.yaml:\d+/, /main/],
    ],
    [
      'state with both filename and client',
      stringify(setIn(siteBase, 'state.filename', 'x.sqlite')),
      [/site\.yaml:\d+/, /state/],
    ],
    [
      'state without database',
      stringify({ ...siteBase, state: { client: 'mariadb', host: '127.0.0.1' } }),
      [/site\.yaml:\d+/, /database/],
    ],
  ];
  for (const [name, entry, where] of siteStructure)
    add({ name: `site.yaml: ${name}`, files: { 'site.yaml': entry }, where });
  for (const c of wrongKinds('site.yaml', 'site.yaml').filter((c) => !c.name.includes('symlink'))) add(c);
  add({
    name: 'site.yaml: passwordEnv names an unset variable',
    files: { 'site.yaml': stringify(setIn(siteBase, 'datasources.main.passwordEnv', 'UK_BAD_INPUT_UNSET')) },
    env: { UK_BAD_INPUT_UNSET: undefined },
    where: [/site\.yaml:\d+/, /UK_BAD_INPUT_UNSET/],
  });
  for (const [name, entry] of [
    ['missing', null],
    ['a directory', { dir: true }],
    ['a FIFO', { fifo: true }],
  ] as const)
    add({
      name: `site.yaml: passwordFile ${name}`,
      files: {
        'site.yaml': stringify(setIn(siteBase, 'datasources.main.passwordFile', 'secret.txt')),
        'secret.txt': entry,
      },
      where: [/site\.yaml:\d+/, /passwordFile|secret\.txt/],
      ...(name === 'a FIFO' ? { spawn: true } : {}),
    });

  // CLI arguments.
  const without = (flag: string) => {
    const i = RUN.indexOf(flag);
    return [...RUN.slice(0, i), ...RUN.slice(i + 2)];
  };
  const replace = (flag: string, value: string) => RUN.map((a, i) => (RUN[i - 1] === flag ? value : a));
  const argCases: [string, string[], RegExp[]][] = [
    ['--from not a version', replace('--from', 'abc'), [/--from/]],
    ['--to not a version', replace('--to', 'latest'), [/--to/]],
    ['--to past the release', replace('--to', '5.0.0'), [/5\.0\.0/, /newest/]],
    ['--to before --from', replace('--to', '0.9.0'), [/--to|--from/]],
    ['--to equal to --from', replace('--to', '1.0.0'), [/--to|--from/]],
    ['--from empty', replace('--from', ''), [/--from/]],
    ['--release missing', without('--release'), [/--release/]],
    ['--from missing', without('--from'), [/--from/]],
    ['--release a missing directory', replace('--release', 'nope'), [/nope/]],
    ['--release a file', replace('--release', 'site.yaml'), [/site\.yaml/]],
    ['--config missing', replace('--config', 'nope.yaml'), [/nope\.yaml/]],
    ['--config a directory', replace('--config', 'release'), [/--config|release/]],
    ['an unknown option', [...RUN, '--frm', '1.0.0'], [/--frm/]],
    ['an unknown command', ['upgrde', ...RUN.slice(1)], [/upgrde/]],
    ['--stage unknown', [...RUN, '--stage', 'during'], [/--stage/, /during/]],
    ['--from-statement 0', [...RUN, '--from-statement', '0'], [/--from-statement/]],
    ['--from-statement abc', [...RUN, '--from-statement', 'abc'], [/--from-statement/]],
    ['--site with a newline', [...RUN, '--site', 'a\nb'], [/--site/]],
    ['--site empty', [...RUN, '--site', ''], [/--site/]],
    ['--accept empty', [...RUN, '--accept', ''], [/--accept/]],
    ['--services unknown', [...RUN, '--services', 'internal'], [/--services/]],
    [
      'resolve with two decisions',
      ['resolve', 'add-notes', '--applied', '--retry', ...RUN.slice(2)],
      [/--applied|--retry/],
    ],
    ['resolve without a decision', ['resolve', 'add-notes', ...RUN.slice(2)], [/--applied|--retry|decision/]],
    [
      'status with --from only',
      ['status', '--config', 'site.yaml', '--release', 'release', '--from', '1.0.0'],
      [/--to/],
    ],
    [
      'rollback step 9',
      ['rollback', 'step', '9', '--config', 'site.yaml', '--release', 'release'],
      [/step/, /9/],
    ],
    [
      'rollback step abc',
      ['rollback', 'step', 'abc', '--config', 'site.yaml', '--release', 'release'],
      [/step/, /abc/],
    ],
    [
      'a backup id escaping its root',
      ['rollback', 'auto', '../../etc', '--config', 'site.yaml', '--release', 'release'],
      [/backup/, /\.\.\/\.\.\/etc/],
    ],
    [
      'plan --compatible and --full',
      ['plan', '--release', 'release', '--from', '1.0.0', '--to', '1.2.0', '--compatible', '--full'],
      [/--compatible|--full/],
    ],
  ];
  for (const [name, argv, where] of argCases) add({ name: `argv: ${name}`, argv, where });

  // Seeded pairs: two faults at once, in one file; both must be reported in the one refusal.
  const random = prng(seed);
  // Fields the schema judges: a path (file) or a name (datasource) is checked once the task's
  // shape is valid, so a pair with one of those reports the shape problem first.
  const fields = Object.keys(TASK_FIELDS).filter((f) => !['priority', 'file', 'datasource'].includes(f));
  for (let n = 0; n < 20; n++) {
    const a = fields[Math.floor(random() * fields.length)] as string;
    let b = a;
    while (b === a) b = fields[Math.floor(random() * fields.length)] as string;
    const va = TASK_FIELDS[a]?.[Math.floor(random() * (TASK_FIELDS[a]?.length ?? 1))];
    const vb = TASK_FIELDS[b]?.[Math.floor(random() * (TASK_FIELDS[b]?.length ?? 1))];
    add({
      name: `seeded pair ${n + 1}: tasks.yaml ${a} = ${JSON.stringify(va).slice(0, 20)} and ${b} = ${JSON.stringify(vb).slice(0, 20)}`,
      files: { [TASKS_PATH]: tasksFile({ ...TASK, [a]: va, [b]: vb }) },
      where: [/tasks\.yaml:\d+/, fieldRe(a), fieldRe(b)],
    });
  }
  const siteFields = Object.keys(SITE_FIELDS).filter(
    (f) => f.startsWith('datasources') || f.startsWith('assessment'),
  );
  for (let n = 0; n < 10; n++) {
    const a = siteFields[Math.floor(random() * siteFields.length)] as string;
    let b = a;
    while (b === a) b = siteFields[Math.floor(random() * siteFields.length)] as string;
    const va = SITE_FIELDS[a]?.[0];
    const vb = SITE_FIELDS[b]?.[0];
    add({
      name: `seeded pair ${n + 21}: site.yaml ${a} and ${b}`,
      files: { 'site.yaml': stringify(setIn(setIn(siteBase, a, va), b, vb)) },
      where: [/site\.yaml:\d+/, fieldRe(a), fieldRe(b)],
    });
  }
  return cases;
}

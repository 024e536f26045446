import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { SiteInfo } from '../model/index.js';
import type { ReleaseProblem } from '../release/index.js';
import { parseYaml, schemaProblems, siteIdSchema } from '../release/internal.js';
import {
  type AssessmentConfig,
  type BackupConfig,
  type DatasourceConfig,
  type HostConfig,
  type StateConfig,
  siteConfigSchema,
} from './schema.js';

/** Fields whose value may be a secret typed in the wrong place: never echoed in a message. */
const SECRET_FIELD = /(^|\.)(password|passwordEnv|passwordFile|passphraseEnv|url|env\.[^.]+)$/;

/** The site used when neither the configuration, `UPGRADEKIT_SITE` nor the caller names one. */
export const DEFAULT_SITE = 'default';

/** The configured site's id, or `default`. */
export function siteIdOf(config: SiteConfig): string {
  return config.site?.id ?? DEFAULT_SITE;
}

/** A validated site configuration; relative paths in it resolve against `baseDir`. */
export interface SiteConfig {
  /** The file it came from, when it came from one. */
  readonly file?: string;
  /** Where relative `passwordFile`s resolve: the config file's directory, or the working directory. */
  readonly baseDir: string;
  readonly site?: SiteInfo;
  readonly state?: StateConfig;
  readonly datasources: Readonly<Record<string, DatasourceConfig>>;
  readonly hosts: readonly HostConfig[];
  readonly assessment: AssessmentConfig;
  readonly placeholders: Readonly<Record<string, string>>;
  readonly backup?: BackupConfig;
  /**
   * Where a field was written, for messages: `site.yaml:12 datasources.main.passwordEnv`; the
   * field alone when the configuration came from no file.
   */
  readonly at: (field: string) => string;
}

export interface LoadSiteConfigOptions {
  /** A YAML (or JSON) file. Without one, the configuration is the environment and `overrides` only. */
  readonly file?: string;
  /** Default: `process.env`. `UPGRADEKIT_SITE` sets the site id. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What the caller's own flags say; they win over the file and the environment. */
  readonly overrides?: { readonly site?: string };
  /** Default: `process.cwd()`. */
  readonly cwd?: string;
}

function formatProblems(file: string, problems: readonly ReleaseProblem[]): string {
  const lines = problems.map(
    (p) => `  ${p.file}${p.line ? `:${p.line}` : ''}${p.field ? ` ${p.field}` : ''}: ${p.message}`,
  );
  return `Invalid site configuration ${file} — ${problems.length} problem${problems.length === 1 ? '' : 's'}, nothing was run:\n${lines.join('\n')}`;
}

/**
 * Reads the site configuration: the file, then `UPGRADEKIT_SITE` from the environment, then the
 * caller's overrides — later wins. Every problem is named by file, line and field before anything
 * connects anywhere. Passwords are only ever referenced (`passwordEnv`, `passwordFile`).
 *
 * @example
 * const config = loadSiteConfig({ file: 'site-042.yaml', overrides: { site: flags.site } });
 */
export function loadSiteConfig(options: LoadSiteConfigOptions = {}): SiteConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let raw: unknown = {};
  let file: string | undefined;
  let at = (field: string) => field;
  if (options.file) {
    file = resolve(cwd, options.file);
    let text: string;
    try {
      // A FIFO or a device would block the read for ever, a directory fails with a raw EISDIR.
      const stat = statSync(file);
      if (!stat.isFile())
        throw new Error(stat.isDirectory() ? 'it is a directory, not a file' : 'it is not a regular file');
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `Cannot read the site configuration ${file}: ${(error as Error).message.split('\n')[0]}`,
        { context: { file } },
      );
    }
    const source = parseYaml(text, options.file);
    if (source.problems.length > 0) {
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, formatProblems(options.file, source.problems), {
        context: { file, problems: source.problems },
      });
    }
    raw = source.value ?? {};
    const parsed = siteConfigSchema.safeParse(raw);
    if (!parsed.success) {
      // Never echo what was written where a password went: it is a secret, misplaced.
      const problems = schemaProblems(parsed.error, source, options.file).map((p) =>
        // …nor what was written where a reference to one went: it may be the secret itself.
        SECRET_FIELD.test(p.field ?? '') ? { ...p, message: p.message.replace(/ \(got .*\)$/s, '') } : p,
      );
      throw new UpgradeKitError(ErrorCodes.BAD_INPUT, formatProblems(options.file, problems), {
        context: { file, problems },
      });
    }
    raw = parsed.data;
    const name = options.file;
    at = (field) => `${name}:${source.locate(field.split('.')).line} ${field}`;
  }
  const value = siteConfigSchema.parse(raw);
  const siteId = options.overrides?.site ?? env.UPGRADEKIT_SITE;
  if (siteId !== undefined && !siteIdSchema.safeParse(siteId).success) {
    const from = options.overrides?.site !== undefined ? 'the site id given' : 'UPGRADEKIT_SITE';
    throw new UpgradeKitError(
      ErrorCodes.BAD_INPUT,
      `${from} ${JSON.stringify(siteId)} is not a site id: ${siteIdSchema.safeParse(siteId).error?.issues[0]?.message}`,
      { context: { site: siteId } },
    );
  }
  const fromFile = typeof value.site === 'string' ? { id: value.site } : value.site;
  const site: SiteInfo | undefined = siteId ? { ...(fromFile ?? {}), id: siteId } : fromFile;
  return Object.freeze({
    ...(file ? { file } : {}),
    baseDir: file ? dirname(file) : cwd,
    ...(site ? { site } : {}),
    ...(value.state ? { state: value.state } : {}),
    datasources: value.datasources,
    hosts: value.hosts,
    assessment: value.assessment,
    placeholders: value.placeholders,
    ...(value.backup ? { backup: value.backup } : {}),
    at,
  });
}

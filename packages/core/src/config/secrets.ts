import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { anObject, checkArguments } from '../options/index.js';
import type { SiteConfig } from './load.js';

// Passwords are only ever referenced from the site configuration (`passwordEnv`, `passwordFile`):
// read here, when a connection needs one, and listed for masking.

/** The password a config entry refers to, or undefined when it names none. */
export function resolveSecret(
  where: string,
  ref: { passwordEnv?: string | undefined; passwordFile?: string | undefined },
  config: SiteConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  if (ref.passwordEnv) {
    const value = env[ref.passwordEnv];
    if (value === undefined) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `${config.at(`${where}.passwordEnv`)}: the environment variable ${ref.passwordEnv} is not set; export it before running`,
        { context: { where, variable: ref.passwordEnv } },
      );
    }
    // Empty is a valid password (a local server without one); when the server refuses it, the
    // connection check says the variable was empty — in CI, an undefined secret expands to nothing.
    return value;
  }
  if (ref.passwordFile) {
    const path = resolve(config.baseDir, ref.passwordFile);
    let password: string;
    try {
      if (!statSync(path).isFile()) throw new Error('not a regular file');
      password = (readFileSync(path, 'utf8').split(/\r?\n/)[0] ?? '').trim();
    } catch (error) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_INPUT,
        `${config.at(`${where}.passwordFile`)}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { context: { where, file: path } },
      );
    }
    return password;
  }
  return undefined;
}

type SecretRef = { passwordEnv?: string | undefined; passwordFile?: string | undefined };

/** Where the configuration names a password: each datasource, the state database, each host. */
function secretRefs(config: SiteConfig): Array<[where: string, ref: SecretRef]> {
  return [
    ...Object.entries(config.datasources).map(([name, ds]): [string, SecretRef] => [
      `datasources.${name}`,
      ds,
    ]),
    ...(config.state ? [['state', config.state] as [string, SecretRef]] : []),
    ...config.hosts.map((h): [string, SecretRef] => [`hosts.${h.name}`, h]),
  ];
}

function passphrases(config: SiteConfig, env: Readonly<Record<string, string | undefined>>): string[] {
  return config.hosts.flatMap((h) =>
    h.passphraseEnv && env[h.passphraseEnv] ? [env[h.passphraseEnv] as string] : [],
  );
}

/**
 * Every secret the configuration refers to, read now: a CI runner masks them (GitHub's
 * `setSecret`) before anything else is logged. An unset variable is an error here.
 *
 * @example
 * for (const secret of siteSecrets(config)) actionsCore.setSecret(secret);
 */
export function siteSecrets(
  config: SiteConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  checkArguments('siteSecrets', { config: anObject('a site configuration (loadSiteConfig)') }, { config });
  const secrets = secretRefs(config).map(([where, ref]) => resolveSecret(where, ref, config, env));
  return [...secrets, ...passphrases(config, env)].filter((s): s is string => Boolean(s));
}

/**
 * The secrets of the configuration that can be read now, skipping any that cannot (an unset
 * variable is reported where it is needed): what a command masks in everything it prints.
 */
export function readableSecrets(
  config: SiteConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const secrets = secretRefs(config).map(([where, ref]) => {
    try {
      return resolveSecret(where, ref, config, env);
    } catch {
      return undefined;
    }
  });
  return [...secrets, ...passphrases(config, env)].filter((s): s is string => Boolean(s));
}

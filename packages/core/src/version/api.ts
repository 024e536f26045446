import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import { defaultVersionScheme } from './default-scheme.js';
import type { Version, VersionScheme } from './types.js';

type Input<V> = string | V;

function toVersion<V>(input: Input<V>, scheme: VersionScheme<V>, where = 'compareVersions'): V {
  if (input === undefined || input === null)
    throw new UpgradeKitError(
      ErrorCodes.BAD_VERSION,
      `${where}: a version is required (got ${String(input)})`,
      {
        context: { input: String(input) },
      },
    );
  return typeof input === 'string' ? scheme.parse(input) : input;
}

/**
 * Parse a version. `V`/`v` prefixes are ignored; `-P<n>`/`-T<n>` are post-release suffixes.
 *
 * @example
 * parseVersion('V2.16.7-P1-T1').canonical // '2.16.7-P1-T1'
 */
export function parseVersion(input: string): Version;
export function parseVersion<V>(input: string, scheme: VersionScheme<V>): V;
export function parseVersion(input: string, scheme: VersionScheme<unknown> = defaultVersionScheme): unknown {
  return toVersion(input, scheme, 'parseVersion');
}

/**
 * Compare two versions: `-1`, `0` or `1`.
 *
 * @example
 * compareVersions('2.16.7-P1', '2.16.7-P1-T1') // -1
 */
export function compareVersions(a: string | Version, b: string | Version): -1 | 0 | 1;
export function compareVersions<V>(a: Input<V>, b: Input<V>, scheme: VersionScheme<V>): -1 | 0 | 1;
export function compareVersions(
  a: Input<unknown>,
  b: Input<unknown>,
  scheme: VersionScheme<unknown> = defaultVersionScheme,
): -1 | 0 | 1 {
  const c = scheme.compare(toVersion(a, scheme), toVersion(b, scheme));
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

/**
 * A new array of the inputs in ascending order; every input is validated first.
 *
 * @example
 * sortVersions(['2.16.8', 'V2.16.7-P1', '2.16.7']) // ['2.16.7', 'V2.16.7-P1', '2.16.8']
 */
export function sortVersions<T extends string | Version>(versions: readonly T[]): T[];
export function sortVersions<V, T extends Input<V>>(versions: readonly T[], scheme: VersionScheme<V>): T[];
export function sortVersions(
  versions: readonly Input<unknown>[],
  scheme: VersionScheme<unknown> = defaultVersionScheme,
): Input<unknown>[] {
  if (!Array.isArray(versions))
    throw new UpgradeKitError(ErrorCodes.BAD_INPUT, 'sortVersions: `versions` must be an array of versions', {
      context: { where: 'sortVersions' },
    });
  const parsed = versions.map((input) => ({ input, version: toVersion(input, scheme, 'sortVersions') }));
  parsed.sort((x, y) => scheme.compare(x.version, y.version));
  return parsed.map((entry) => entry.input);
}

/**
 * Whether a version lies in a range: the seed's inclusive `2.16.5~2.16.9` or a semver range.
 *
 * @example
 * satisfies('2.16.7-P2', '2.16.5~2.16.9') // true
 * satisfies('2.16.7-P2', '>=2.16.7 <2.16.8') // true
 */
export function satisfies(version: string | Version, range: string): boolean;
export function satisfies<V>(version: Input<V>, range: string, scheme: VersionScheme<V>): boolean;
export function satisfies(
  version: Input<unknown>,
  range: string,
  scheme: VersionScheme<unknown> = defaultVersionScheme,
): boolean {
  return scheme.satisfies(toVersion(version, scheme, 'satisfies'), range);
}

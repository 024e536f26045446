import semver from 'semver';
import { ErrorCodes, UpgradeKitError } from '../errors/index.js';
import type { Version, VersionScheme } from './types.js';

// `-P<n>` and `-T<n>` right after `x.y.z` are post-release suffixes of this scheme; whatever
// follows them is handed to semver (pre-release and build metadata).
const POST_RELEASE = /^(\d+\.\d+\.\d+)((?:-[Pp]\d+)?(?:-[Tt]\d+)?)(?=$|[-+])/;

function badVersion(input: string, why: string, cause?: unknown): UpgradeKitError {
  return new UpgradeKitError(
    ErrorCodes.BAD_VERSION,
    `Invalid version ${JSON.stringify(input)}: ${why}. Expected forms like 2.16.7, V2.16.7, 2.16.7-P1-T1 or 2.17.0-rc.1.`,
    { context: { input }, ...(cause === undefined ? {} : { cause }) },
  );
}

function parse(input: string): Version {
  if (typeof input !== 'string') throw badVersion(String(input), 'not a string');
  const text = input.trim().replace(/^[Vv](?=\d)/, '');
  const post = POST_RELEASE.exec(text);
  if (!post) throw badVersion(input, 'it does not start with MAJOR.MINOR.PATCH');
  const [, core = '', suffixes = ''] = post;
  const rest = text.slice(post[0].length);
  const parsed = semver.parse(`${core}${rest}`);
  if (!parsed)
    throw badVersion(input, 'the part after the version numbers is not a valid pre-release or build');
  if (/^[PpTt]\d+$/.test(String(parsed.prerelease[0] ?? ''))) {
    throw badVersion(input, '-P<n> and -T<n> may each appear once, -P first');
  }
  // `2.16.7-P` is a patch whose number was left out, not a pre-release sorting before 2.16.7.
  if (/^[PpTt]$/.test(String(parsed.prerelease[0] ?? ''))) {
    throw badVersion(input, `-${parsed.prerelease[0]} needs its number (-P1, -T2)`);
  }
  const patchLevel = Number(/-[Pp](\d+)/.exec(suffixes)?.[1] ?? 0);
  const hotfix = Number(/-[Tt](\d+)/.exec(suffixes)?.[1] ?? 0);
  if (!Number.isSafeInteger(patchLevel) || !Number.isSafeInteger(hotfix)) {
    throw badVersion(input, 'a -P or -T number is too large');
  }
  const prerelease = Object.freeze([...parsed.prerelease]);
  const canonical =
    `${parsed.major}.${parsed.minor}.${parsed.patch}` +
    (patchLevel ? `-P${patchLevel}` : '') +
    (hotfix ? `-T${hotfix}` : '') +
    (prerelease.length ? `-${prerelease.join('.')}` : '');
  return Object.freeze({
    raw: input,
    major: parsed.major,
    minor: parsed.minor,
    patch: parsed.patch,
    patchLevel,
    hotfix,
    prerelease,
    canonical,
  });
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compare(a: Version, b: Version): number {
  const byNumbers =
    a.major - b.major ||
    a.minor - b.minor ||
    a.patch - b.patch ||
    a.patchLevel - b.patchLevel ||
    a.hotfix - b.hotfix;
  if (byNumbers !== 0) return sign(byNumbers);
  // A release sorts after its own pre-releases; pre-releases compare as semver does.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return sign(b.prerelease.length - a.prerelease.length);
  }
  return semver.compare(`0.0.0-${a.prerelease.join('.')}`, `0.0.0-${b.prerelease.join('.')}`);
}

// `2.16.5~2.16.9`: the seed's inclusive range. Both ends required, so semver's own `~2.16` still works.
const SEED_RANGE = /^\s*([^\s~]+)\s*~\s*([^\s~]+)\s*$/;

function satisfies(version: Version, range: string): boolean {
  if (typeof range !== 'string' || range.trim() === '') {
    throw new UpgradeKitError(
      ErrorCodes.BAD_VERSION,
      `Invalid version range ${JSON.stringify(range)}: empty`,
      {
        context: { range },
      },
    );
  }
  const seed = SEED_RANGE.exec(range);
  if (seed) {
    const low = parse(seed[1] ?? '');
    const high = parse(seed[2] ?? '');
    if (compare(low, high) > 0) {
      throw new UpgradeKitError(
        ErrorCodes.BAD_VERSION,
        `Invalid version range ${JSON.stringify(range)}: the lower end is above the upper end`,
        { context: { range } },
      );
    }
    return compare(version, low) >= 0 && compare(version, high) <= 0;
  }
  return satisfiesSemverRange(version, range);
}

// A semver range is evaluated comparator by comparator against this scheme's total order, so
// post-releases land where they belong (`>=2.16.7 <2.16.8` contains 2.16.7-P3) and pre-releases
// are ordinary points on the line (semver's "only with the same tuple" rule does not apply).
function satisfiesSemverRange(version: Version, range: string): boolean {
  let parsed: semver.Range;
  try {
    parsed = new semver.Range(range.replace(/(^|[\s=<>^~])[Vv](?=\d)/g, '$1'));
  } catch (cause) {
    throw new UpgradeKitError(
      ErrorCodes.BAD_VERSION,
      `Invalid version range ${JSON.stringify(range)}: use MIN~MAX (inclusive, e.g. 2.16.5~2.16.9) or a semver range (e.g. >=2.16.0 <2.17.0)`,
      { context: { range }, cause },
    );
  }
  return parsed.set.some((comparators) =>
    comparators.every((comparator) => {
      if (comparator.value === '') return true; // `*` or an empty range: any version
      const bound = parse(comparator.semver.version);
      const c = compare(version, bound);
      switch (comparator.operator) {
        case '>':
          return c > 0;
        case '>=':
          return c >= 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        default:
          return c === 0;
      }
    }),
  );
}

/** The default scheme: semver plus the post-release suffixes `-P<n>` and `-T<n>`. */
export const defaultVersionScheme: VersionScheme<Version> = Object.freeze({
  name: 'upgradekit',
  parse,
  compare,
  format: (version: Version) => version.canonical,
  satisfies,
});

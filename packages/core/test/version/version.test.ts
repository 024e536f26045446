import {
  compareVersions,
  isUpgradeKitError,
  parseVersion,
  satisfies,
  sortVersions,
  type VersionScheme,
} from '@upgradekit/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultVersionScheme } from '../../src/version/default-scheme.js';

describe('parseVersion', () => {
  it('ignores a V or v prefix', () => {
    expect(parseVersion('V2.16.7').canonical).toBe('2.16.7');
    expect(parseVersion('v2.16.7').canonical).toBe('2.16.7');
    expect(compareVersions('V2.16.7', '2.16.7')).toBe(0);
    expect(compareVersions('v2.16.7', 'V2.16.7')).toBe(0);
  });

  it('reads -P and -T as post-release numbers and keeps the raw text', () => {
    const v = parseVersion('V2.16.7-P1-T3');
    expect(v).toMatchObject({ major: 2, minor: 16, patch: 7, patchLevel: 1, hotfix: 3, prerelease: [] });
    expect(v.raw).toBe('V2.16.7-P1-T3');
    expect(v.canonical).toBe('2.16.7-P1-T3');
    expect(Object.isFrozen(v)).toBe(true);
  });

  it('reads other suffixes as semver pre-releases', () => {
    expect(parseVersion('2.17.0-rc.1').prerelease).toEqual(['rc', 1]);
    expect(parseVersion('2.17.0-beta').prerelease).toEqual(['beta']);
  });

  it.each(['', 'two', '2.16', '2.16.7.1', 'V', '2.16.7-', '2.16.7-P1-P2', '2.16.7-!x', 'VV2.16.7'])(
    'rejects %j with UPGRADEKIT_BAD_VERSION naming the input',
    (input) => {
      let caught: unknown;
      try {
        parseVersion(input);
      } catch (error) {
        caught = error;
      }
      expect(isUpgradeKitError(caught, 'UPGRADEKIT_BAD_VERSION')).toBe(true);
      expect((caught as Error).message).toContain(JSON.stringify(input));
      expect((caught as { context: { input: string } }).context.input).toBe(input);
    },
  );
});

describe('compareVersions', () => {
  it('orders post-releases between a release and the next patch (DESIGN §3)', () => {
    const ladder = ['2.16.7', '2.16.7-P1', '2.16.7-P1-T1', '2.16.7-P1-T2', '2.16.7-P2', '2.16.8'];
    for (let i = 0; i < ladder.length - 1; i++) {
      expect(compareVersions(ladder[i]!, ladder[i + 1]!), `${ladder[i]} < ${ladder[i + 1]}`).toBe(-1);
      expect(compareVersions(ladder[i + 1]!, ladder[i]!)).toBe(1);
    }
  });

  it('orders pre-releases before their release', () => {
    expect(compareVersions('2.17.0-rc.1', '2.17.0')).toBe(-1);
    expect(compareVersions('2.17.0-alpha', '2.17.0-beta')).toBe(-1);
    expect(compareVersions('2.17.0-rc.2', '2.17.0-rc.10')).toBe(-1);
    expect(compareVersions('2.16.8', '2.17.0-rc.1')).toBe(-1);
  });

  it('a hot-fix without a patch level sits between the release and P1', () => {
    expect(compareVersions('2.16.7', '2.16.7-T1')).toBe(-1);
    expect(compareVersions('2.16.7-T1', '2.16.7-P1')).toBe(-1);
  });

  it('ignores build metadata', () => {
    expect(compareVersions('2.16.7+build.5', '2.16.7')).toBe(0);
  });
});

describe('sortVersions', () => {
  it('sorts mixed notations and returns the inputs as given', () => {
    expect(
      sortVersions(['2.16.8', 'V2.16.7-P1', '2.17.0-rc.1', '2.16.7', 'v2.16.7-P1-T1', '2.17.0']),
    ).toEqual(['2.16.7', 'V2.16.7-P1', 'v2.16.7-P1-T1', '2.16.8', '2.17.0-rc.1', '2.17.0']);
  });

  it('validates every input before sorting', () => {
    expect(() => sortVersions(['2.16.7', 'nope'])).toThrow(/"nope"/);
  });
});

describe('satisfies', () => {
  const minMax = "the seed's MIN~MAX, inclusive at both ends";
  const semver = 'a semver range, in the post-release order';
  // [how the range is read, version, range, whether the version satisfies it]
  it.each<[string, string, string, boolean]>([
    [minMax, '2.16.5', '2.16.5~2.16.9', true],
    [minMax, '2.16.9', '2.16.5~2.16.9', true],
    [minMax, 'V2.16.7-P2', 'V2.16.5~V2.16.9', true],
    [minMax, '2.16.4', '2.16.5~2.16.9', false],
    [minMax, '2.16.9-P1', '2.16.5~2.16.9', false],
    [semver, '2.16.7-P3', '>=2.16.7 <2.16.8', true],
    [semver, '2.16.7-P1-T1', '^2.16.0', true],
    [semver, '2.17.0', '2.16.x', false],
    [semver, '2.16.7', '~2.16.0', true],
    [semver, '2.16.7', '*', true],
    [semver, '2.16.7', '>=2.16.8 || 2.16.7', true],
  ])('reads %s: %s in %s is %s', (_how, version, range, expected) => {
    expect(satisfies(version, range)).toBe(expected);
  });

  it('rejects nonsense and reversed ranges with a clear error', () => {
    expect(() => satisfies('2.16.7', '2.16.9~2.16.5')).toThrow(/lower end is above the upper end/);
    expect(() => satisfies('2.16.7', 'banana')).toThrow(/MIN~MAX/);
    expect(() => satisfies('2.16.7', '')).toThrow(/empty/);
  });
});

describe('a site with its own convention', () => {
  // Dates as versions: 2024.03 < 2024.11 < 2025.01.
  const dated: VersionScheme<{ y: number; m: number }> = {
    name: 'dated',
    parse(input) {
      const m = /^(\d{4})\.(\d{2})$/.exec(input);
      if (!m) throw new Error(`bad dated version ${input}`);
      return { y: Number(m[1]), m: Number(m[2]) };
    },
    compare: (a, b) => a.y - b.y || a.m - b.m,
    format: (v) => `${v.y}.${String(v.m).padStart(2, '0')}`,
    satisfies: () => true,
  };

  it('plugs into the same functions', () => {
    expect(compareVersions('2024.11', '2025.01', dated)).toBe(-1);
    expect(sortVersions(['2025.01', '2024.03', '2024.11'], dated)).toEqual(['2024.03', '2024.11', '2025.01']);
    expect(parseVersion('2024.03', dated)).toEqual({ y: 2024, m: 3 });
  });
});

describe('the order is total (property-based)', () => {
  const version = fc
    .record({
      prefix: fc.constantFrom('', 'V', 'v'),
      major: fc.nat(3),
      minor: fc.nat(3),
      patch: fc.nat(3),
      p: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      t: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      pre: fc.option(fc.constantFrom('rc.1', 'rc.2', 'rc.10', 'beta', 'alpha.1', '0'), { nil: undefined }),
    })
    .map(
      (r) =>
        `${r.prefix}${r.major}.${r.minor}.${r.patch}${r.p ? `-P${r.p}` : ''}${r.t ? `-T${r.t}` : ''}${r.pre ? `-${r.pre}` : ''}`,
    );

  it('is reflexive and antisymmetric', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        // A sum, not toBe(-x): equal versions give 0 and -0, which Object.is tells apart.
        expect(compareVersions(a, b) + compareVersions(b, a)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('is transitive', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        if (compareVersions(a, b) <= 0 && compareVersions(b, c) <= 0)
          expect(compareVersions(a, c)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('sorting agrees with compare, and canonical text round-trips', () => {
    fc.assert(
      fc.property(fc.array(version, { maxLength: 30 }), (list) => {
        const sorted = sortVersions(list);
        for (let i = 1; i < sorted.length; i++)
          expect(compareVersions(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
        for (const v of list) {
          const parsed = defaultVersionScheme.parse(v);
          expect(compareVersions(parseVersion(parsed.canonical), parsed)).toBe(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('MIN~MAX agrees with compare', () => {
    fc.assert(
      fc.property(version, version, version, (v, a, b) => {
        const [low, high] = compareVersions(a, b) <= 0 ? [a, b] : [b, a];
        const inside = compareVersions(v, low) >= 0 && compareVersions(v, high) <= 0;
        expect(satisfies(v, `${low}~${high}`)).toBe(inside);
      }),
      { numRuns: 500 },
    );
  });
});

import { type CompatibilityMatrix, isUpgradeKitError, planPath } from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

// Seed 004 §4.7.1.1, verbatim (snake_case, `v` prefixes, the version_compatibility wrapper).
const SEED = {
  version_compatibility: {
    'v1.0.0': {
      supported_targets: ['v2.0.0', 'v2.1.0', 'v2.2.0'],
      direct_upgrade: ['v2.2.0'],
      progressive_upgrade: ['v2.0.0', 'v2.1.0'],
    },
    'v1.5.0': {
      supported_targets: ['v2.1.0', 'v2.2.0'],
      direct_upgrade: ['v2.2.0'],
      progressive_upgrade: ['v2.1.0'],
    },
    'v2.0.0': {
      supported_targets: ['v2.1.0', 'v2.2.0'],
      direct_upgrade: ['v2.1.0', 'v2.2.0'],
      progressive_upgrade: [],
    },
  },
} as unknown as CompatibilityMatrix;

function caught(fn: () => unknown): Error & { code?: string; context?: Record<string, unknown> } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('planPath', () => {
  it('takes the jump when the target is a direct one (the seed example: 1.0.0 → 2.2.0)', () => {
    const path = planPath(SEED, 'V1.0.0', '2.2.0');
    expect(path).toMatchObject({ from: '1.0.0', to: '2.2.0', mode: 'jump' });
    expect(path.hops).toEqual([{ from: '1.0.0', to: '2.2.0', mode: 'jump' }]);
  });

  it('chains progressive hops when there is no direct one', () => {
    const matrix = {
      '1.0.0': { progressive: ['1.1.0'] },
      '1.1.0': { progressive: ['1.2.0'] },
      '1.2.0': { progressive: ['1.3.0'] },
    };
    const path = planPath(matrix, '1.0.0', '1.3.0');
    expect(path.mode).toBe('progressive');
    expect(path.hops.map((h) => `${h.from}>${h.to}`)).toEqual(['1.0.0>1.1.0', '1.1.0>1.2.0', '1.2.0>1.3.0']);
  });

  it('prefers fewer hops, then less estimated time, and says when hops mix', () => {
    const matrix = {
      '1.0.0': {
        progressive: ['1.1.0', '1.2.0'],
        direct: ['1.5.0'],
        estimates: { '1.1.0': 60_000, '1.2.0': 10_000 },
      },
      '1.1.0': { progressive: ['2.0.0'], estimates: { '2.0.0': 60_000 } },
      '1.2.0': { progressive: ['2.0.0'], estimates: { '2.0.0': 60_000 } },
      '1.5.0': { progressive: ['1.6.0'] },
      '1.6.0': { progressive: ['2.0.0'] },
    };
    const path = planPath(matrix, '1.0.0', '2.0.0');
    // Two 2-hop routes: via 1.1.0 (120 s) and via 1.2.0 (70 s); the 3-hop route via the jump loses.
    expect(path.hops.map((h) => h.to)).toEqual(['1.2.0', '2.0.0']);
    expect(path.estimateMs).toBe(70_000);
    expect(planPath(matrix, '1.0.0', '1.6.0')).toMatchObject({
      mode: 'combined',
      hops: [{ mode: 'jump' }, { mode: 'progressive' }],
    });
  });

  it('breaks an exact tie through the newer intermediate version, the same way every time', () => {
    const matrix = {
      '1.0.0': { progressive: ['1.1.0', '1.3.0', '1.2.0'] },
      '1.1.0': { progressive: ['2.0.0'] },
      '1.2.0': { progressive: ['2.0.0'] },
      '1.3.0': { progressive: ['2.0.0'] },
    };
    for (let i = 0; i < 3; i++)
      expect(planPath(matrix, '1.0.0', '2.0.0').hops.map((h) => h.to)).toEqual(['1.3.0', '2.0.0']);
    // An estimate callback decides the tie instead when it has something to say.
    const viaOldest = planPath(matrix, '1.0.0', '2.0.0', {
      estimate: (a, b) => (a === '1.1.0' || b === '1.1.0' ? 1 : 100),
    });
    expect(viaOldest.hops.map((h) => h.to)).toEqual(['1.1.0', '2.0.0']);
  });

  it('an unreachable target is an error listing what can be reached', () => {
    const matrix = {
      '1.0.0': { progressive: ['1.1.0'] },
      '1.1.0': { direct: ['1.4.0'] },
      '3.0.0': { direct: ['4.0.0'] },
    };
    const error = caught(() => planPath(matrix, '1.0.0', '4.0.0'));
    expect(isUpgradeKitError(error, 'UPGRADEKIT_NO_UPGRADE_PATH')).toBe(true);
    expect(error.message).toContain('From 1.0.0 the matrix reaches: 1.1.0, 1.4.0');
    expect(error.context?.reachable).toEqual(['1.1.0', '1.4.0']);
    const unknown = caught(() => planPath(matrix, '0.9.0', '1.1.0'));
    expect(unknown.message).toMatch(/no entry for 0\.9\.0.*lists upgrades from 1\.0\.0, 1\.1\.0, 3\.0\.0/);
  });

  // 1.0.0 → 1.2.0 through a matrix that cannot take it: the error's code and what it says.
  it.each<{
    name: string;
    matrix: Parameters<typeof planPath>[0];
    code: Parameters<typeof isUpgradeKitError>[1];
    message: RegExp | string;
  }>([
    {
      name: 'refuses a target outside supportedTargets even when hops would reach it',
      matrix: {
        '1.0.0': { supportedTargets: ['1.1.0'], progressive: ['1.1.0'] },
        '1.1.0': { progressive: ['1.2.0'] },
      },
      code: 'UPGRADEKIT_NO_UPGRADE_PATH',
      message: /1\.2\.0 is not among the supported targets of 1\.0\.0.*reaches: 1\.1\.0/,
    },
    {
      name: 'a cycle is a matrix error naming the hop that goes down',
      matrix: {
        '1.0.0': { progressive: ['1.1.0'] },
        '1.1.0': { progressive: ['1.2.0'] },
        '1.2.0': { progressive: ['1.0.0'] },
      },
      code: 'UPGRADEKIT_BAD_INPUT',
      message: '1.2.0 progressive: 1.2.0 → 1.0.0 does not go up',
    },
  ])('$name', ({ matrix, code, message }) => {
    const error = caught(() => planPath(matrix, '1.0.0', '1.2.0'));
    expect(isUpgradeKitError(error, code)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it('names bad versions and fields, and refuses going down', () => {
    const error = caught(() =>
      planPath({ '1.0.0': { direct: ['two'], jump: ['2.0.0'] } } as never, '1.0.0', '2.0.0'),
    );
    expect(error.message).toContain('1.0.0 direct: "two" is not a version');
    expect(error.message).toContain('1.0.0 jump: unknown field');
    expect(
      isUpgradeKitError(
        caught(() => planPath(SEED, '2.2.0', '2.0.0')),
        'UPGRADEKIT_BAD_INPUT',
      ),
    ).toBe(true);
  });

  it('treats post-release versions in order (2.16.7-P1 between 2.16.7 and 2.16.8)', () => {
    const matrix = { '2.16.7': { progressive: ['2.16.7-P1'] }, 'V2.16.7-P1': { progressive: ['2.16.8'] } };
    expect(planPath(matrix, '2.16.7', '2.16.8').hops.map((h) => h.to)).toEqual(['2.16.7-P1', '2.16.8']);
  });

  it('plans over a 200-version matrix in a few milliseconds', () => {
    const versions = Array.from({ length: 200 }, (_, i) => `3.${Math.floor(i / 10)}.${i % 10}`);
    const matrix: Record<string, { progressive: string[]; direct?: string[] }> = {};
    versions.forEach((v, i) => {
      matrix[v] = {
        progressive: versions.slice(i + 1, i + 3),
        ...(i % 10 === 0 ? { direct: versions.slice(i + 10, i + 11) } : {}),
      };
    });
    const started = performance.now();
    const path = planPath(matrix, versions[0]!, versions[199]!);
    const ms = performance.now() - started;
    // 19 jumps of 10 plus progressive steps of 2: 19 + 5 = 24 hops at most, never the 100 steps of two.
    expect(path.hops.length).toBeLessThanOrEqual(24);
    expect(path.hops[0]).toMatchObject({ mode: 'jump', to: '3.1.0' });
    expect(ms).toBeLessThan(200);
  });
});

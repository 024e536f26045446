// The state capability (issue 23): migrate/ and rollout/ reach the state store through the context
// the executor hands out, and a script's StepContext no longer shows the state's knex.
import { createUpgrade, isUpgradeKitError, rolloutStep, type StepContext } from '@upgradekit/core';
import { describe, expect, expectTypeOf } from 'vitest';
import { test } from '#test-support';

describe('the state capability of a step', () => {
  test('is not part of the public StepContext', () => {
    expectTypeOf<StepContext>().not.toHaveProperty('stateKnex');
    expectTypeOf<StepContext>().not.toHaveProperty('succeedWithin');
  });

  test('survives a step that wraps another and spreads its context', async ({ state }) => {
    const upgraded: string[] = [];
    const inner = rolloutStep({
      id: 'rollout:web',
      upgrade: ({ host }) => void upgraded.push(host.name),
    });
    const upgrade = createUpgrade({
      component: 'web',
      from: '1.0.0',
      to: '1.1.0',
      site: 's1',
      state,
      hosts: [{ name: 'web-1' }, { name: 'web-2' }],
    });
    upgrade.step('preStart', { id: 'wrapped', run: (ctx) => inner.run({ ...ctx, log: ctx.log }) });
    const result = await upgrade.runStage('preStart');
    expect(result.status, String(result.error)).toBe('succeeded');
    expect(upgraded.sort()).toEqual(['web-1', 'web-2']);
    const hostRows = (await state.log({ component: 'web', site: 's1' })).filter((r) => r.host !== '');
    expect(hostRows.map((r) => [r.host, r.status])).toEqual([
      ['web-1', 'succeeded'],
      ['web-2', 'succeeded'],
    ]);
  });

  test('is absent from a context made by hand: rolloutStep says to run it in an upgrade', async () => {
    const step = rolloutStep({ id: 'rollout:web', upgrade: () => {} });
    const error = await Promise.resolve()
      .then(() => step.run({ hosts: [], signal: new AbortController().signal } as unknown as StepContext))
      .catch((e: unknown) => e);
    expect(isUpgradeKitError(error, 'UPGRADEKIT_BAD_INPUT'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/rolloutStep rollout:web runs only as a step of an upgrade/);
  });
});

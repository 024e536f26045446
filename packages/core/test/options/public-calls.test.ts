// Every public function and class of @upgradekit/core, called with nothing: it either works (its
// arguments are all optional) or says what it needs in an UPGRADEKIT_BAD_INPUT error that names
// it; never "Cannot read properties of undefined". The list is the package root itself, so a new
// public function is checked the day it is exported.
import * as core from '@upgradekit/core';
import { describe, expect, it } from 'vitest';

/** Everything here works without arguments, by design. */
const NEEDS_NOTHING: Record<string, string> = {
  ConsoleReporter: 'prints at level info',
  EventBus: 'an empty bus',
  LocalHost: 'this machine',
  ProgressTracker: 'an empty tracker',
  TransferManager: 'the documented defaults',
  classifyError: 'classifies whatever was thrown, undefined included',
  errorResult: 'turns whatever was thrown into a result; it must never throw itself',
  isUpgradeKitError: 'false',
  loadSiteConfig: 'the default site file, or the defaults',
  localRunner: 'this machine',
  probeLocal: 'the working directory',
  releaseJsonSchemas: 'the schemas',
};

/** Error classes: core constructs them with what it knows; a user matches them, never builds one. */
const ERRORS = ['UpgradeKitError', 'UpgradeKitTimeoutError', 'UpgradeKitRetryError', 'SqlStatementError'];

/** Private constructors: the static factory is the way in, and it is what gets checked. */
const FACTORIES: Record<string, () => unknown> = {
  SiteLock: () => (core.SiteLock.acquire as (...a: unknown[]) => unknown)(),
  SshSession: () => (core.SshSession.connect as (...a: unknown[]) => unknown)(),
  StateStore: () => (core.StateStore.open as (...a: unknown[]) => unknown)(),
};

const isClass = (f: unknown) =>
  typeof f === 'function' && /^class\b/.test(Function.prototype.toString.call(f));
const callables = Object.entries(core as Record<string, unknown>).filter(([, v]) => typeof v === 'function');

async function outcome(call: () => unknown): Promise<unknown> {
  return Promise.race([
    (async () => call())().then(
      () => undefined,
      (e: unknown) => e ?? new Error('rejected with nothing'),
    ),
    new Promise((resolve) => setTimeout(() => resolve(new Error('still running after 5 s')), 5000).unref()),
  ]);
}

describe('every public function and class, called with nothing', () => {
  it('is found on the package root, and every name listed here is still exported', () => {
    expect(callables.length).toBeGreaterThan(60);
    const names = new Set(callables.map(([n]) => n));
    for (const listed of [...Object.keys(NEEDS_NOTHING), ...ERRORS, ...Object.keys(FACTORIES)])
      expect(names, listed).toContain(listed);
  });

  it('error classes all derive from UpgradeKitError', () => {
    for (const name of ERRORS) {
      const ErrorClass = (core as Record<string, unknown>)[name] as { prototype: object };
      expect(ErrorClass.prototype instanceof core.UpgradeKitError || name === 'UpgradeKitError', name).toBe(
        true,
      );
    }
  });

  for (const [name, value] of callables) {
    if (ERRORS.includes(name)) continue;
    const call =
      FACTORIES[name] ??
      (isClass(value) ? () => new (value as new () => unknown)() : (value as () => unknown));
    const where = FACTORIES[name]
      ? `${name}.${name === 'SiteLock' ? 'acquire' : name === 'SshSession' ? 'connect' : 'open'}`
      : name;
    if (NEEDS_NOTHING[name]) {
      it(`${where}() works: ${NEEDS_NOTHING[name]}`, async () => {
        expect(await outcome(call)).toBeUndefined();
      });
    } else {
      it(`${where}() says what it needs`, async () => {
        const error = await outcome(call);
        expect(error, `${where}() did not throw`).toBeDefined();
        expect(error).not.toBeInstanceOf(TypeError);
        expect(core.isUpgradeKitError(error), String(error)).toBe(true);
        expect((error as { code: string }).code).toMatch(/^UPGRADEKIT_BAD_(INPUT|VERSION)$/);
        expect((error as Error).message).toContain(name);
      });
    }
  }
});

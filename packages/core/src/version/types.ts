/** A parsed version of the default scheme. Frozen; compare with {@link compareVersions}. */
export interface Version {
  /** The text it was parsed from, untouched. */
  readonly raw: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** `-P<n>`: a post-release patch on top of `major.minor.patch`; 0 when absent. */
  readonly patchLevel: number;
  /** `-T<n>`: a hot-fix build on top of the patch level; 0 when absent. */
  readonly hotfix: number;
  /** Semver pre-release identifiers (`rc.1` → `['rc', 1]`); empty for a release. */
  readonly prerelease: readonly (string | number)[];
  /** Canonical text: no `V` prefix, no build metadata (`2.16.7-P1-T1`). */
  readonly canonical: string;
}

/**
 * A version convention. The default understands `V2.16.7-P1-T1`; a site with another convention
 * supplies its own object and passes it wherever a scheme is accepted.
 */
export interface VersionScheme<V = Version> {
  readonly name: string;
  /** Parse or throw `UpgradeKitError` with code `UPGRADEKIT_BAD_VERSION` naming the input. */
  parse(input: string): V;
  /** Total order: negative, zero or positive. */
  compare(a: V, b: V): number;
  format(version: V): string;
  /** Range check; the range syntax is the scheme's to define. Throws `UPGRADEKIT_BAD_VERSION` on a bad range. */
  satisfies(version: V, range: string): boolean;
}

import type { ArchiveEntry, ArchiveSummary, MemberSelection } from './host.js';
import { unsafeMember } from './ids.js';

const trim = (path: string) => path.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');

/**
 * Where an archive member lands under a selection: its path with `strip` leading components
 * removed, or undefined when it is not selected. Without a selection, the path as it is.
 *
 * @example
 * selectMember('etc/app/a.conf', { member: 'etc/app', strip: 1 }); // 'app/a.conf'
 * selectMember('etc/other.conf', { member: 'etc/app', strip: 1 }); // undefined
 */
export function selectMember(path: string, selection: MemberSelection = {}): string | undefined {
  const { member, strip = 0 } = selection;
  if (member === undefined && strip === 0) return path;
  const clean = trim(path);
  if (member !== undefined) {
    const wanted = trim(member);
    if (clean !== wanted && !clean.startsWith(`${wanted}/`)) return undefined;
  }
  const parts = clean.split('/');
  // `tar --strip-components` skips a member left with no name, as this does.
  return parts.length > strip ? parts.slice(strip).join('/') : undefined;
}

/** The `strip` that puts `member` itself directly into the extraction directory. */
export function stripFor(member: string): number {
  return trim(member).split('/').length - 1;
}

/** What a member listing says for verification: how many, the first unsafe path, and whether `lookFor` is there. */
export function summarizeMembers(members: readonly ArchiveEntry[], lookFor?: string): ArchiveSummary {
  const unsafe = members.find((m) => unsafeMember(m.path))?.path;
  return {
    count: members.length,
    ...(unsafe ? { unsafe } : {}),
    ...(lookFor ? { found: members.some((m) => m.path === lookFor) } : {}),
  };
}

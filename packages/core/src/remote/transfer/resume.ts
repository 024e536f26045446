import type { SshSession } from '../session.js';
import type { UploadContext } from './context.js';
import { remoteBlockHashes } from './hash.js';
import { blockSizeFor } from './local.js';
import type { FileEntry } from './paths.js';

/**
 * How much of a partial remote file can be kept: per-block sha256 of the partial file against
 * the local file's, up to the first difference. Parallel SFTP writes can leave a hole near the
 * end of a cut file; the block hashes find it. Files under one block never resume.
 */
export async function verifiedPrefix(
  context: UploadContext,
  session: SshSession,
  entry: FileEntry,
  temporary: string,
): Promise<number> {
  const block = blockSizeFor(entry.size);
  if (entry.size < 2 * block) return 0;
  const partial = await remoteBlockHashes(session, temporary, block, entry.size, context.settings.signal);
  if (partial.size === undefined || partial.size > entry.size || partial.blocks.length === 0) return 0;
  const local = await context.hashes.blocks(entry, block, partial.blocks.length);
  let n = 0;
  while (n < partial.blocks.length && partial.blocks[n] === local[n]) n++;
  return n * block;
}

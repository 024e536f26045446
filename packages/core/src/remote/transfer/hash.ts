import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { SshSession } from '../session.js';
import { run } from './run.js';

/**
 * sha256 of a local file (or of its bytes `[start, end)`), streamed.
 *
 * @example
 * const hex = await sha256File('app-2.16.7.tar.gz');
 */
export function sha256File(path: string, range: { start?: number; end?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const end = range.end === undefined ? undefined : range.end - 1;
    if (end !== undefined && end < (range.start ?? 0)) return resolve(hash.digest('hex'));
    createReadStream(path, {
      highWaterMark: 1 << 20,
      ...(range.start ? { start: range.start } : {}),
      ...(end === undefined ? {} : { end }),
    })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** sha256 of each whole `blockSize` block among the first `count` blocks of a local file. */
export async function localBlockHashes(path: string, blockSize: number, count: number): Promise<string[]> {
  const out: string[] = [];
  if (count <= 0) return out;
  let hash = createHash('sha256');
  let filled = 0;
  for await (const chunk of createReadStream(path, { end: blockSize * count - 1, highWaterMark: 1 << 20 })) {
    let data = chunk as Buffer;
    while (data.length > 0) {
      const take = Math.min(data.length, blockSize - filled);
      hash.update(data.subarray(0, take));
      filled += take;
      data = data.subarray(take);
      if (filled === blockSize) {
        out.push(hash.digest('hex'));
        hash = createHash('sha256');
        filled = 0;
      }
    }
  }
  return out;
}

/**
 * A shell prelude setting `$H` to the fastest sha256 tool on the host: OpenSSL's digest (assembly,
 * ~4× coreutils' `sha256sum` on the same CPU) when it answers the empty input correctly, else
 * `sha256sum`. Both print the hex digest first. Remote hashing is what a skip costs and what
 * verification costs, so this is the time an unchanged 1 GiB takes to be recognised.
 */
export const PICK_SHA256 =
  'H=sha256sum; e=$(openssl dgst -sha256 -r </dev/null 2>/dev/null) && ' +
  'case "$e" in e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855*) H="openssl dgst -sha256 -r";; esac; ';

// Fixed scripts; user values only ever arrive as positional arguments ("$@"), quoted by exec.
// One output line per argument, in order, so no file name is ever parsed back.
const HASHES =
  PICK_SHA256 +
  'for f do if [ -f "$f" ]; then h=$($H < "$f" | cut -c1-64); [ -n "$h" ] || h=-; echo "$h"; else echo -; fi; done';
// First line: the file's size ("-" when there is none); then one sha256 per whole block.
const BLOCKS =
  PICK_SHA256 +
  'f=$1; b=$2; s=$(stat -c %s -- "$f" 2>/dev/null) || { echo -; exit 0; }; echo "$s"; i=0; ' +
  '[ "$s" -le "$3" ] || exit 0; ' +
  'while [ $((i * b + b)) -le "$s" ]; do dd if="$f" bs="$b" skip="$i" count=1 2>/dev/null | $H | cut -c1-64; i=$((i + 1)); done';
const BATCH = 200;

/**
 * sha256 of many remote files (undefined where a file does not exist), in argument order, a few
 * hundred paths per command.
 */
export async function remoteSha256s(
  session: SshSession,
  paths: readonly string[],
  signal?: AbortSignal,
): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < paths.length; i += BATCH) {
    const batch = paths.slice(i, i + BATCH);
    const result = await run(session, ['sh', '-c', HASHES, 'sh', ...batch], signal ? { signal } : {});
    const lines = result.stdout.split('\n');
    for (let j = 0; j < batch.length; j++) {
      const line = lines[j] ?? '';
      out.push(/^[0-9a-f]{64}$/.test(line) ? line : undefined);
    }
  }
  return out;
}

/** sha256 of one remote file (OpenSSL or `sha256sum`); undefined when it does not exist. */
export async function remoteSha256(session: SshSession, path: string): Promise<string | undefined> {
  return (await remoteSha256s(session, [path]))[0];
}

/**
 * The size of a remote file (undefined when there is none) and the sha256 of each whole
 * `blockSize` block — no blocks when the file is larger than `maxSize` (it cannot be a prefix).
 */
export async function remoteBlockHashes(
  session: SshSession,
  path: string,
  blockSize: number,
  maxSize: number,
  signal?: AbortSignal,
): Promise<{ size?: number; blocks: string[] }> {
  const result = await run(
    session,
    ['sh', '-c', BLOCKS, 'sh', path, String(blockSize), String(maxSize)],
    signal ? { signal } : {},
  );
  const [first = '-', ...rest] = result.stdout.split('\n');
  const size = Number(first);
  return {
    ...(first !== '-' && first !== '' && Number.isFinite(size) ? { size } : {}),
    blocks: rest.filter((line) => /^[0-9a-f]{64}$/.test(line)),
  };
}

import { localBlockHashes, sha256File } from './hash.js';
import type { FileEntry } from './paths.js';

/** Block size for resume checks: ~256 blocks per file, between 1 MiB and 64 MiB. */
export function blockSizeFor(size: number): number {
  let block = 1 << 20;
  while (block < 64 << 20 && block * 256 < size) block *= 2;
  return block;
}

/**
 * Local hashes, computed once and shared by every host: the whole-file sha256 (started at once,
 * while hosts connect) and, only when a host has a partial file to resume, per-block hashes.
 */
export class LocalHashes {
  readonly #whole = new Map<string, Promise<string>>();
  // A few files at a time: a directory of thousands must not open thousands of streams.
  readonly #queue: (() => void)[] = [];
  #running = 0;
  readonly #blocks = new Map<string, { count: number; hashes: Promise<string[]> }>();

  sha256(entry: FileEntry): Promise<string> {
    let hash = this.#whole.get(entry.local);
    if (!hash) {
      hash = this.#limited(() => sha256File(entry.local));
      hash.catch(() => {});
      this.#whole.set(entry.local, hash);
    }
    return hash;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    // A finished hash hands its slot straight to the next in line.
    if (this.#running >= 4) await new Promise<void>((resolve) => this.#queue.push(resolve));
    else this.#running++;
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#running--;
    }
  }

  async blocks(entry: FileEntry, blockSize: number, count: number): Promise<string[]> {
    const key = `${entry.local}\0${blockSize}`;
    const known = this.#blocks.get(key);
    if (known && known.count >= count) return (await known.hashes).slice(0, count);
    const hashes = localBlockHashes(entry.local, blockSize, count);
    this.#blocks.set(key, { count, hashes });
    return hashes;
  }
}

import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Faults {
  /** Delay every chunk, in both directions, by this much (order is kept). */
  readonly latencyMs?: number;
  /** Cut a connection once this many bytes (both directions together) have passed. */
  readonly cutAfterBytes?: number;
  /** Cut a connection this long after it was accepted. */
  readonly cutAfterMs?: number;
  /** Drop a connection that carried no data for this long. */
  readonly idleTimeoutMs?: number;
  /** Accept and swallow everything, answer nothing — a silent network. Applies to open connections too. */
  readonly blackhole?: boolean;
  /** How a cut looks to the peers: a TCP reset (default) or an orderly close. */
  readonly cutWith?: 'reset' | 'close';
}

export interface ProxyStats {
  connections: number;
  /** Links the proxy cut on purpose (cutAll, cutAfter…, idle timeout); a peer closing or close() does not count. */
  cuts: number;
  bytesUp: number;
  bytesDown: number;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  bytes: number;
  timers: NodeJS.Timeout[];
  idle: NodeJS.Timeout | undefined;
}

/**
 * A TCP proxy on loopback that injects network faults between a client and a real server.
 * Faults can be changed while connections are open.
 *
 * @example
 * const proxy = await FaultProxy.start({ host: '127.0.0.1', port: 3306 });
 * proxy.set({ cutAfterBytes: 10_000 });
 * // connect to proxy.host:proxy.port
 * await proxy.close();
 */
export class FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly stats: ProxyStats = { connections: 0, cuts: 0, bytesUp: 0, bytesDown: 0 };
  #faults: Faults;
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  readonly #links = new Set<Link>();

  private constructor(
    server: Server,
    host: string,
    port: number,
    target: { host: string; port: number },
    faults: Faults,
  ) {
    this.#server = server;
    this.host = host;
    this.port = port;
    this.#target = target;
    this.#faults = faults;
  }

  static async start(
    target: { host: string; port: number },
    faults: Faults = {},
    listenHost = '127.0.0.1',
  ): Promise<FaultProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, listenHost, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const proxy = new FaultProxy(server, listenHost, port, target, faults);
    server.on('connection', (socket) => proxy.#accept(socket));
    return proxy;
  }

  /** Replace the faults; open connections follow the new ones from their next byte. */
  set(faults: Faults): void {
    this.#faults = faults;
  }

  get faults(): Faults {
    return this.#faults;
  }

  get openConnections(): number {
    return this.#links.size;
  }

  /** Cut every open connection now. */
  cutAll(): void {
    for (const link of [...this.#links]) this.#cut(link);
  }

  async close(): Promise<void> {
    for (const link of [...this.#links]) this.#cut(link, false); // shutting down is not a fault

    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.stats.connections++;
    const link: Link = { client, upstream: undefined, bytes: 0, timers: [], idle: undefined };
    this.#links.add(link);
    client.on('error', () => this.#cut(link, false));
    client.on('close', () => this.#cut(link, false));
    const { cutAfterMs } = this.#faults;
    if (cutAfterMs !== undefined) link.timers.push(setTimeout(() => this.#cut(link), cutAfterMs));
    this.#touch(link);
    if (this.#faults.blackhole) {
      client.on('data', () => {}); // swallow
      return;
    }
    const upstream = connect(this.#target);
    link.upstream = upstream;
    upstream.on('error', () => this.#cut(link, false));
    upstream.on('close', () => this.#cut(link, false));
    this.#pipe(link, client, upstream, 'bytesUp');
    this.#pipe(link, upstream, client, 'bytesDown');
  }

  #pipe(link: Link, from: Socket, to: Socket, counter: 'bytesUp' | 'bytesDown'): void {
    let releaseAt = 0;
    from.on('data', (chunk: Buffer) => {
      if (!this.#links.has(link) || this.#faults.blackhole) return;
      this.#touch(link);
      const { cutAfterBytes, latencyMs = 0 } = this.#faults;
      let data = chunk;
      let cutNow = false;
      if (cutAfterBytes !== undefined && link.bytes + data.length >= cutAfterBytes) {
        data = data.subarray(0, Math.max(0, cutAfterBytes - link.bytes));
        cutNow = true;
      }
      link.bytes += data.length;
      this.stats[counter] += data.length;
      const forward = () => {
        if (data.length > 0 && !to.destroyed) to.write(data);
        if (cutNow) setImmediate(() => this.#cut(link));
      };
      if (latencyMs > 0) {
        // Each chunk leaves `latencyMs` after it arrived, and never before the one ahead of it.
        const now = Date.now();
        releaseAt = Math.max(releaseAt, now + latencyMs);
        if (!from.isPaused() && to.writableLength > 1 << 20) from.pause();
        link.timers.push(
          setTimeout(() => {
            forward();
            if (to.writableLength < 1 << 20) from.resume();
          }, releaseAt - now),
        );
      } else {
        forward();
        if (to.writableLength > 1 << 20) {
          from.pause();
          to.once('drain', () => from.resume());
        }
      }
    });
  }

  #touch(link: Link): void {
    const { idleTimeoutMs } = this.#faults;
    if (link.idle) clearTimeout(link.idle);
    link.idle = idleTimeoutMs === undefined ? undefined : setTimeout(() => this.#cut(link), idleTimeoutMs);
  }

  /** Ends a link; `fault`: the proxy cut it on purpose (counted), not a peer closing or close(). */
  #cut(link: Link, fault = true): void {
    if (!this.#links.delete(link)) return;
    if (fault) this.stats.cuts++;
    for (const timer of link.timers) clearTimeout(timer);
    if (link.idle) clearTimeout(link.idle);
    const reset = (this.#faults.cutWith ?? 'reset') === 'reset';
    for (const socket of [link.client, link.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.end(() => socket.destroy());
    }
  }
}

/**
 * A server that accepts connections and never says a word: the "socket that never answers".
 */
export async function silentServer(
  host = '127.0.0.1',
): Promise<{ port: number; accepted: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let firstConnection = () => {};
  const accepted = new Promise<void>((resolve) => {
    firstConnection = resolve;
  });
  const server = createServer((socket) => {
    firstConnection();
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    /** Resolves when the first client has connected. */
    accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

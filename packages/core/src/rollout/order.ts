/** A host of a rollout: its name (its identity in state), its roles and whatever else you need. */
export interface RolloutHost {
  /** Unique within the site; the `host` column of `upgrade_log`. */
  readonly name: string;
  readonly address?: string;
  readonly port?: number;
  readonly roles?: readonly string[];
  /** Anything your hooks need (ports, paths); carried through untouched. */
  readonly vars?: Readonly<Record<string, unknown>>;
}

/**
 * Orders hosts by role: hosts whose best role comes earlier in `roleOrder` go first; `'*'` in the
 * list stands for every role not named (default: after the named ones). Stable otherwise, so hosts
 * of one rank keep the order they were given in. Seed 002 §4.3: replicas before the primary;
 * seed 003 Q2: stateless first.
 *
 * @example
 * orderHosts(hosts, ['stateless', 'replica', '*', 'primary']);
 */
export function orderHosts<H extends RolloutHost>(
  hosts: readonly H[],
  roleOrder: readonly string[] = [],
): H[] {
  if (roleOrder.length === 0) return [...hosts];
  const star = roleOrder.indexOf('*');
  const others = star === -1 ? roleOrder.length : star;
  const rank = (host: H) => {
    const ranks = (host.roles ?? []).map((role) => {
      const index = roleOrder.indexOf(role);
      return index === -1 ? others : index;
    });
    return ranks.length === 0 ? others : Math.min(...ranks);
  };
  return hosts
    .map((host, index) => ({ host, index, rank: rank(host) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((entry) => entry.host);
}

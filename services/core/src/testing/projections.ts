/**
 * Test helper: a code-defined projection whose state shows the order it saw events in, for
 * checking that a replay or a live feed applies every event once and in version order.
 *
 *   const p = defineProjection(orderSensitiveFold('per_entity', (payload) => (payload as { n: number }).n));
 */
import type { KeyedProjectionSpec } from '../projections/defineProjection';

/** The state per entity: how many events, the last version, whether every version followed the one before, and a sum. */
export interface OrderedFold {
  count: number;
  version: number;
  inOrder: boolean;
  sum: number;
}

/**
 * A fold keyed by entity: an event applied out of order, twice or not at all shows in `inOrder`,
 * `count` or `sum`; `amount` says what each event adds to `sum`.
 */
export function orderSensitiveFold(name: string, amount: (payload: unknown) => number): KeyedProjectionSpec<OrderedFold> {
  return {
    name,
    key: (e) => e.entityId,
    init: () => ({ count: 0, version: 0, inOrder: true, sum: 0 }),
    apply: (s, e) => ({
      count: s.count + 1,
      version: e.version,
      inOrder: s.inOrder && e.version === s.version + 1,
      sum: s.sum + amount(e.payload),
    }),
  };
}

/** A map kept as a bounded least-recently-set cache. */

/**
 * Sets `key` in `map` as its most recent entry (an entry set again moves to the recent end),
 * forgetting the least recent entry first once `map` holds `most`.
 */
export function rememberBounded<K, V>(map: Map<K, V>, key: K, value: V, most = 10_000): void {
  map.delete(key);
  if (map.size >= most) map.delete(map.keys().next().value as K);
  map.set(key, value);
}

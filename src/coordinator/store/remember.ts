/**
 * A Map used as a least-recently-used cache: `remember` puts `key` last (insertion order is
 * recency) and drops the oldest entry beyond `max`. Called on a hit too, to refresh it.
 */
export function remember<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value as K);
}

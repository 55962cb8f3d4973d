/** examples/sharded-kv: which shard a key belongs to (the servers and their clients agree on it). */

/** fnv1a-32 of the key (its UTF-16 code units), modulo the shard count. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/**
 * CRC-32C (Castagnoli), the checksum of Kafka record batch v2 (over attributes..end).
 *
 * Backed by `@node-rs/crc32` (napi-rs, prebuilt binaries, SIMD / SSE4.2 where the CPU has it):
 * every produced batch is checked once on the way in and once per read from disk, so this is on
 * the hot path. Check value: crc32c("123456789") = 0xE3069283.
 */
import { crc32c as nativeCrc32c } from '@node-rs/crc32';

/** CRC-32C of `bytes`, continuing from `previous` (0 to start), as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32c(bytes, previous) >>> 0;
}

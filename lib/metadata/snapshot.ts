/**
 * Metadata snapshots: an image as bytes, for the metadata Raft group's snapshots.
 *
 * Format: one msgpack value (the shared `metadataPackr`):
 *
 *     ["flotilla-metadata", formatVersion: 0, records: [[tag, version, body], ...]]
 *
 * where `records` are the image's canonical records (image.ts `imageToRecords`). Restoring replays
 * them onto the empty image, so a snapshot is checked by the same code that checks the log, and
 * an image survives the round trip exactly (`imagesEqual`). Equal images give identical bytes.
 */
import { FlotillaError } from '../base/errors.js';
import { replayRecords } from './delta.js';
import type { MetadataImage } from './image.js';
import { imageToRecords } from './image.js';
import { metadataPackr, recordFromValue, recordToValue } from './records.js';

const MAGIC = 'flotilla-metadata';
const FORMAT_VERSION = 0;

export function encodeSnapshot(image: MetadataImage): Buffer {
  return metadataPackr.pack([MAGIC, FORMAT_VERSION, imageToRecords(image).map(recordToValue)]);
}

export function decodeSnapshot(bytes: Uint8Array): MetadataImage {
  let value: unknown;
  try {
    value = metadataPackr.unpack(bytes);
  } catch (err) {
    throw new FlotillaError('CORRUPT', `metadata snapshot: not msgpack (${(err as Error).message})`);
  }
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== MAGIC) {
    throw new FlotillaError('CORRUPT', 'metadata snapshot: not ["flotilla-metadata", version, records]');
  }
  if (value[1] !== FORMAT_VERSION) throw new FlotillaError('CORRUPT', `metadata snapshot: unknown version ${String(value[1])}`);
  const records = value[2] as unknown;
  if (!Array.isArray(records)) throw new FlotillaError('CORRUPT', 'metadata snapshot: records is not a list');
  return replayRecords(records.map((r: unknown) => recordFromValue(r)));
}

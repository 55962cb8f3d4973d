import { MetadataDelta } from '../../lib/metadata/delta.js';
import { MetadataImage } from '../../lib/metadata/image.js';
import type { MetadataRecord } from '../../lib/metadata/records.js';

/** A UUID made from a counter: tests need deterministic ids. */
export function uuidOf(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function register(brokerId: number, rack: string | null = null, fenced = false, incarnation = brokerId): MetadataRecord {
  return { type: 'RegisterBroker', brokerId, incarnationId: uuidOf(1000 + incarnation), host: `node${brokerId}`, clientPort: 9092, peerPort: 9093, rack, fenced };
}

export function replay(records: readonly MetadataRecord[], base = MetadataImage.EMPTY): MetadataImage {
  return new MetadataDelta(base).replayAll(records).apply();
}

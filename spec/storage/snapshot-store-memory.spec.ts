import { MemorySnapshotStore } from '../../lib/storage/memory-snapshot-store.js';
import { snapshotConformance } from './snapshot-store-conformance.js';

snapshotConformance('MemorySnapshotStore', () => ({
  make: async (settings) => new MemorySnapshotStore(settings),
  crash: async (store) => (store as MemorySnapshotStore).crashImage(),
  cleanup: async () => undefined,
}));

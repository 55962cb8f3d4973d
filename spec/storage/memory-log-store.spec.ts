import { MemoryLogStore } from '../../lib/storage/memory-log-store.js';
import { logStoreConformance } from './log-store-conformance.js';

logStoreConformance('MemoryLogStore', () => ({
  open: (options) => Promise.resolve(new MemoryLogStore({ compactStep: options?.small ? 16 : 1 })),
  reopen: false,
  cleanup: () => Promise.resolve(),
}));

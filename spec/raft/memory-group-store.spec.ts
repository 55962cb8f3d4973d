import { MemoryGroupStore } from '../../lib/raft/group-store.js';
import { groupStoreConformance } from './group-store-conformance.js';

groupStoreConformance('MemoryGroupStore', () => ({
  open: async (bootstrap) => new MemoryGroupStore(bootstrap),
  reopen: null,
  cleanup: async () => {},
}));

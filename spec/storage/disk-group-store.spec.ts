import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../lib/app/system-clock.js';
import { openDiskGroupStore } from '../../lib/storage/disk-group-store.js';
import { groupStoreConformance } from '../raft/group-store-conformance.js';

groupStoreConformance('DiskGroupStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-group-store-'));
  return {
    open: (bootstrap) => openDiskGroupStore({ dir, bootstrap, clock: systemClock }),
    reopen: async (store, bootstrap) => {
      await store.close();
      return openDiskGroupStore({ dir, bootstrap, clock: systemClock });
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

/**
 * The lock service's machine in the simulator, for the CLI:
 *   npx flotilla simulate --machine dist/examples/lock/sim.js --seeds 200
 * Set LOCK_BUG=wall-clock or LOCK_BUG=reuse-token to run a planted bug and watch it found.
 */
import { type LockBug, LockMachine, lockModel, lockWorkload } from './lock-machine.js';

const bug = (process.env.LOCK_BUG ?? null) as LockBug;
export const machine = (): LockMachine => new LockMachine({ bug });
export const workload = lockWorkload();
export const model = lockModel;

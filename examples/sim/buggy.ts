/**
 * The simulator example with its planted bug: `apply` reads the wall clock. Run it:
 *   npx flotilla simulate --machine dist/examples/sim/buggy.js --seeds 100
 * (see docs/library.md, "Test your state machine in the simulator").
 */
import { Registers, registersModel, registersWorkload } from './registers.js';

export const machine = (): Registers => new Registers({ bug: 'clock' });
export const workload = registersWorkload();
export const model = registersModel;

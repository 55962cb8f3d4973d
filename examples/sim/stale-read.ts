/**
 * The simulator example with a stale-read bug: reads are served from any node's state machine at
 * once, without ReadIndex. The machine is correct; the read path is not.
 *   npx flotilla simulate --machine dist/examples/sim/stale-read.js --seeds 100
 */
import { Registers, registersModel, registersWorkload } from './registers.js';

export const machine = (): Registers => new Registers();
export const workload = registersWorkload({ staleReads: true });
export const model = registersModel;

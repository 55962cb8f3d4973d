/**
 * The simulator example, fixed: writes carry the time their client stamped, versions count
 * writes, reads go through ReadIndex.
 *   npx flotilla simulate --machine dist/examples/sim/fixed.js --seeds 1000
 */
import { Registers, registersModel, registersWorkload } from './registers.js';

export const machine = (): Registers => new Registers();
export const workload = registersWorkload();
export const model = registersModel;

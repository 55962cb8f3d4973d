/**
 * Planted bugs: the simulator must catch each (the suite proves it within 1,000 seeds). A bug is
 * reachable only by constructing this subclass; no setting of RaftCore leads to it.
 */
import { type PlantedBug, RaftCore, type RaftCoreOptions } from '../raft/core/raft.js';

export const PLANTED_BUGS: readonly PlantedBug[] = [
  'commit-previous-term',
  'vote-before-persist',
  'truncate-on-stale-append',
  'prevote-changes-term',
  'reuse-read-index',
  'config-change-without-current-term-commit',
];

export class PlantedBugCore extends RaftCore {
  constructor(options: RaftCoreOptions, bug: PlantedBug) {
    super(options);
    this.bug = bug;
  }
}

export function isPlantedBug(name: string): name is PlantedBug {
  return (PLANTED_BUGS as readonly string[]).includes(name);
}

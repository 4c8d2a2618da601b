/**
 * What the zoo's commands (zoo-bench-commands.ts, zoo-sphere.ts) take from the experiments'
 * shared module, src/experiments/common.ts, until they import it from there.
 */
export { experimentFolder, meanAndSd, normPerStepAxes } from '../experiments/common.ts';

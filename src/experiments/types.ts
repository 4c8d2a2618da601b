/**
 * The one signature every experiment runs under (as k-diffusion gives every sampler one
 * signature): a registry hands its runner the plan it looked up, and the runner reports its
 * progress through a callback, as the samplers do. Commands in src/cli parse flags into these
 * options; nothing here knows about a command line.
 */

/** How far a run has come: `done` of `total` units (images, cells, prompts), with an optional label. */
export interface ExperimentProgress {
  readonly done: number;
  readonly total: number;
  /** What the unit is, or which part of the run is going on ("cells", "images", "confirm"). */
  readonly label?: string;
  /** The unit just finished (a method's name), shown beside the bar. */
  readonly item?: string;
}

/** The options every experiment takes. */
export interface ExperimentRunOptions {
  /** Prompt/noise seed of the run. */
  readonly seed: number;
  /** The small version of the run (seconds, for tests and a first look). */
  readonly quick: boolean;
  /** Output folder (written through src/io/output-folder.ts). */
  readonly out: string;
  /** Called as units finish; a command draws a progress bar with it. */
  readonly onProgress?: (progress: ExperimentProgress) => void;
}

/**
 * An experiment: a plan it runs (looked up by name in a registry) and its runner. `Extra` holds
 * options only some experiments take (prompt counts, worker processes), still one object.
 */
export interface Experiment<Plan, Result, Extra = object> {
  /** One line for `--help` and the report's title. */
  readonly title: string;
  /** The plan this experiment runs (methods, grids, prompt sets). */
  plan(): Promise<Plan> | Plan;
  run(plan: Plan, options: ExperimentRunOptions & Extra): Promise<Result>;
}

/**
 * diffusers `scheduler/scheduler_config.json` → the core `ScheduleConfig`.
 *
 * snake_case fields map to camelCase; a missing field takes diffusers' `DDIMScheduler.__init__`
 * default (scheduling_ddim.py v0.27.0: beta_start 0.0001, beta_end 0.02, beta_schedule
 * "linear", num_train_timesteps 1000, set_alpha_to_one true, steps_offset 0, timestep_spacing
 * "leading", prediction_type "epsilon"), which is what `DDIMScheduler.from_config` does. The
 * file of an SD 1.x pipeline may name another scheduler class (PNDM, …): its noise-schedule
 * fields are the same, and AMDM samples with DDIM (sources M§1.1).
 */
import { z } from 'zod';
import { BETA_SCHEDULES, TIMESTEP_SPACINGS, type ScheduleConfig } from '../core/schedule.ts';

const schedulerJson = z
  .object({
    _class_name: z.string().optional(),
    beta_start: z.number().positive().lt(1).default(0.0001),
    beta_end: z.number().positive().lt(1).default(0.02),
    beta_schedule: z.enum(BETA_SCHEDULES).default('linear'),
    num_train_timesteps: z.number().int().min(2).max(100_000).default(1000),
    set_alpha_to_one: z.boolean().default(true),
    steps_offset: z.number().int().min(0).default(0),
    timestep_spacing: z.enum(TIMESTEP_SPACINGS).default('leading'),
    prediction_type: z.string().default('epsilon'),
    trained_betas: z.unknown().optional(),
    clip_sample: z.boolean().optional(),
    thresholding: z.boolean().optional(),
    rescale_betas_zero_snr: z.boolean().optional(),
  })
  .loose();

/** Map a parsed scheduler_config.json to `ScheduleConfig`; `file` names the source in errors. */
export function scheduleConfigFromJson(json: unknown, file = 'scheduler_config.json'): ScheduleConfig {
  const parsed = schedulerJson.safeParse(json);
  if (!parsed.success) throw new RangeError(`${file}: ${formatIssues(parsed.error.issues)}`);
  const c = parsed.data;
  if (c.prediction_type !== 'epsilon') {
    throw new RangeError(
      `${file}: prediction_type ${JSON.stringify(c.prediction_type)} is not supported; AMDM's DDIM step needs an epsilon-prediction model (prediction_type "epsilon", as SD 1.x)`,
    );
  }
  if (c.trained_betas !== undefined && c.trained_betas !== null) {
    throw new RangeError(`${file}: trained_betas is not supported (use beta_schedule with beta_start/beta_end)`);
  }
  if (c.rescale_betas_zero_snr === true) throw new RangeError(`${file}: rescale_betas_zero_snr: true is not supported`);
  if (c.thresholding === true) throw new RangeError(`${file}: thresholding: true is not supported`);
  if (c.clip_sample === true) throw new RangeError(`${file}: clip_sample: true is not supported (SD 1.x uses false)`);
  if (c.steps_offset > c.num_train_timesteps - 1) {
    throw new RangeError(`${file}: steps_offset must be in [0, ${c.num_train_timesteps - 1}], got ${c.steps_offset}`);
  }
  return {
    betaSchedule: c.beta_schedule,
    betaStart: c.beta_start,
    betaEnd: c.beta_end,
    numTrainTimesteps: c.num_train_timesteps,
    setAlphaToOne: c.set_alpha_to_one,
    stepsOffset: c.steps_offset,
    timestepSpacing: c.timestep_spacing,
  };
}

/** zod issues as "field.path: message; …". */
export function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`).join('; ');
}

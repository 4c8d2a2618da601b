/** Clean renders of Shapes prompts: the means of the world's data distribution. */
import { describe } from '../../core/validate.ts';
import { effectiveStyle, validatePrompt, type ShapesPrompt } from './prompts.ts';
import { checkWorld, fillBackground, paintSquare, type ShapesWorld } from './world.ts';

/**
 * The clean image of a prompt: its background style (the world's default when the prompt
 * names none), then each instance's square painted in order. C×H×W, channel-major, in [−1, 1].
 * Pass `out` (length world.dim) to reuse a buffer.
 */
export function renderPrompt(world: ShapesWorld, prompt: ShapesPrompt, out?: Float32Array): Float32Array {
  checkWorld(world);
  const p = validatePrompt(world, prompt);
  const img = checkOut(world, out);
  fillBackground(world, effectiveStyle(world, p), img);
  for (const inst of p.instances) paintSquare(world, inst.box[0], inst.box[1], world.palette[inst.color], img);
  return img;
}

/** Renders with noise: renderPrompt + σ₀·z, z ~ N(0, I) from `rng` (one draw of the data distribution). */
export function samplePrompt(
  world: ShapesWorld,
  prompt: ShapesPrompt,
  rng: { normal(): number },
  out?: Float32Array,
): Float32Array {
  if (rng === null || typeof rng !== 'object' || typeof rng.normal !== 'function') {
    throw new TypeError(`rng must have a normal() method (e.g. gaussianRng(seed)), got ${describe(rng)}`);
  }
  const img = renderPrompt(world, prompt, out);
  for (let i = 0; i < img.length; i++) img[i] += world.sigma0 * rng.normal();
  return img;
}

function checkOut(world: ShapesWorld, out: Float32Array | undefined): Float32Array {
  if (out === undefined) return new Float32Array(world.dim);
  if (!(out instanceof Float32Array))
    throw new TypeError(`out must be a Float32Array of length ${world.dim}, got ${describe(out)}`);
  if (out.length !== world.dim)
    throw new RangeError(`out must have length ${world.dim} (3·height·width), got ${out.length}`);
  return out;
}

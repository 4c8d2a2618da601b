/** MIGC's inputs (migc.ts) laid out from the text encodings, the boxes and the run's seed. */
import { gaussianRng } from '../../core/rng.ts';
import { checkFloat32, checkInt, describe } from '../../core/validate.ts';
import type { ConstantInput } from '../../onnx/unet-denoiser.ts';
import { checkBoxes, checkPhrases, type Box } from './boxes.ts';
import { migcMasks } from './migc-masks.ts';

/** SAC pads instances to 28 (`number_pro = 30` minus two): at most 28 instances. */
export const MIGC_MAX_INSTANCES = 28;

/** Validate phrases and boxes: equal counts n with 1 ≤ n ≤ 28. Returns n. */
export function checkMigcInstances(phrases: unknown, boxes: unknown): number {
  const p = checkPhrases('phrases', phrases);
  const b = checkBoxes('boxes', boxes);
  if (p.length !== b.length)
    throw new RangeError(
      `phrases and boxes must have the same length (one box per instance), got phrases ${p.length}, boxes ${b.length}`,
    );
  if (p.length < 1 || p.length > MIGC_MAX_INSTANCES)
    throw new RangeError(
      `the number of instances must be in [1, ${MIGC_MAX_INSTANCES}] (MIGC's SAC limit), got ${p.length}`,
    );
  return p.length;
}

/** The texts MIGC encodes: [caption, phrase₁ … phraseₙ]. */
export function migcPromptList(caption: string, phrases: readonly string[]): string[] {
  if (typeof caption !== 'string') throw new TypeError(`caption must be a string, got ${describe(caption)}`);
  return [caption, ...checkPhrases('phrases', phrases)];
}

/**
 * The SAC instance permutation (replaces `torch.randperm(size)`): a Fisher–Yates shuffle driven
 * by the core seeded generator (stream 0x5AC), so the same seed gives the same permutation.
 */
export function sacPermutation(seed: number, size = MIGC_MAX_INSTANCES): number[] {
  checkInt('size', size, 1, 1 << 16);
  const rng = gaussianRng(seed, 0x5ac);
  const p = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface MigcInputs {
  readonly n: number;
  readonly length: number;
  readonly width: number;
  /** `[n+2, length, width]`: `[neg, caption, phrase₁ … phraseₙ]`, MIGC's `encoder_hidden_states`. */
  readonly encoderHiddenStates: Float32Array;
  /** [length, width] rows of the CFG text input: negative and caption. */
  readonly negative: Float32Array;
  readonly caption: Float32Array;
  /** [n, length, width]. */
  readonly instanceEmbeddings: Float32Array;
  /** [n+1, 1, width] (caption first, `embeds_pooler`), and its last n rows [n, 1, width]. */
  readonly promptPooler: Float32Array;
  readonly instancePooler: Float32Array;
  /** [n, 4] in MIGC's order x0, x1, y0, y1. */
  readonly instanceBoxes: Float32Array;
  /** [1, n, h, w] and [1, 1, h, w]. */
  readonly guidanceMask: Float32Array;
  readonly supplementMask: Float32Array;
  /** [28]. */
  readonly sacPerm: number[];
}

/**
 * Lay out MIGC's inputs from the encodings of [negative, caption, phrase₁ … phraseₙ]:
 * `hidden` [n+2, length, width] and `pooled` [n+2, width].
 */
export function buildMigcInputs(opts: {
  phrases: readonly string[];
  boxes: readonly Box[];
  hidden: Float32Array;
  pooled: Float32Array;
  length: number;
  width: number;
  latentSize: readonly [number, number];
  seed: number;
}): MigcInputs {
  const n = checkMigcInstances(opts.phrases, opts.boxes);
  const L = checkInt('length', opts.length, 1);
  const D = checkInt('width', opts.width, 1);
  const row = L * D;
  checkFloat32('hidden', opts.hidden, (n + 2) * row);
  checkFloat32('pooled', opts.pooled, (n + 2) * D);
  const instanceBoxes = new Float32Array(4 * n);
  opts.boxes.forEach((b, k) => instanceBoxes.set([b[0], b[2], b[1], b[3]], 4 * k));
  const { guidance, supplement } = migcMasks(opts.boxes, opts.latentSize);
  return {
    n,
    length: L,
    width: D,
    encoderHiddenStates: opts.hidden,
    negative: opts.hidden.subarray(0, row),
    caption: opts.hidden.subarray(row, 2 * row),
    instanceEmbeddings: opts.hidden.subarray(2 * row),
    promptPooler: opts.pooled.subarray(D),
    instancePooler: opts.pooled.subarray(2 * D),
    instanceBoxes,
    guidanceMask: guidance,
    supplementMask: supplement,
    sacPerm: sacPermutation(opts.seed),
  };
}

/** The MIGC graph's constant inputs for the roles it has. */
export function migcExtras(
  inputs: MigcInputs,
  roles: ReadonlySet<string>,
  latentSize: readonly [number, number],
): Record<string, ConstantInput> {
  const { n, length: L, width: D } = inputs;
  const [h, w] = latentSize;
  const all: Record<string, ConstantInput> = {
    instance_embeddings: { value: inputs.instanceEmbeddings, dims: [n, L, D] },
    instance_pooler: { value: inputs.instancePooler, dims: [n, 1, D] },
    prompt_pooler: { value: inputs.promptPooler, dims: [n + 1, 1, D] },
    instance_boxes: { value: inputs.instanceBoxes, dims: [n, 4] },
    guidance_mask: { value: inputs.guidanceMask, dims: [1, n, h, w] },
    supplement_mask: { value: inputs.supplementMask, dims: [1, 1, h, w] },
    sac_perm: { value: inputs.sacPerm, dims: [inputs.sacPerm.length] },
  };
  const out: Record<string, ConstantInput> = {};
  for (const r of roles) if (r in all) out[r] = all[r];
  return out;
}

/**
 * A closed-form toy ε-model as an ONNX graph behind the SD UNet contract, so the ONNX path
 * (sessions, model folders, createUnetDenoiser, the pipeline) can be checked against an exact
 * pure-JS reference.
 *
 * Graph `gmm_unet` for an isotropic mixture p₀ = Σₖ πₖ N(μₖ, σₖ² I) (math of src/toy/gmm.ts):
 *   inputs   sample [batch, C, H, W] float32, timestep float32 scalar [],
 *            encoder_hidden_states [batch, 1, 1] float32 — declared so the standard input names
 *            load without an amdm.json, and ignored (feed a single 0; guidance 1)
 *   output   out_sample [batch, C, H, W] float32
 *   ᾱ        Gather on a (T+1)-entry table: ᾱ₀…ᾱ_{T−1} and, at index T, the final ᾱ used for
 *            t < 0 (Where(t < 0, T, t)); t is cast to int64 (an integer timestep is expected)
 *   a = √ᾱ, s² = 1 − ᾱ, cₖ = a²σₖ² + s²
 *   ℓₖ = log πₖ − ½ d log(2π cₖ) − ½ (‖x‖² − 2a⟨x, μₖ⟩ + a²‖μₖ‖²)/cₖ
 *   r = softmax(ℓ)                               (the log-sum-exp responsibilities)
 *   ε = −s ∇log q_t(x) = s (x Σₖ rₖ/cₖ − a Σₖ (rₖ/cₖ) μₖ)
 * Components are initializers (μ as a [d, K] matrix for ⟨x, μₖ⟩ and [K, d] for Σₖ wₖμₖ);
 * zero-weight components are dropped, as in mixtureDenoiser. The arithmetic is float64 inside
 * the graph (Cast in and out), matching the reference's float64 reductions.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { NoiseSchedule } from '../core/schedule.ts';
import type { Denoiser } from '../core/types.ts';
import { checkInt, describe } from '../core/validate.ts';
import { mixtureDenoiser } from '../toy/gmm.ts';
import { validateMixture } from '../toy/gmm-mixture.ts';
import type { GaussianMixture } from '../toy/mixture.ts';
import { EXPERTS, type ExpertName } from '../toy/shapes/experts.ts';
import type { ShapesPrompt } from '../toy/shapes/prompts.ts';
import type { ShapesWorld } from '../toy/shapes/world.ts';
import { attr, graphBuilder, type GraphBuilder } from './graph.ts';
import { openSession, type SessionOptions } from './session.ts';
import { unetModel } from './model-folder.ts';
import { createUnetDenoiser } from './unet-denoiser.ts';

export interface GmmGraphOptions {
  /** [C, H, W] of one sample, C·H·W = mixture.dim (default [1, 1, dim]). */
  shape?: readonly [number, number, number];
}

const f64 = (v: ArrayLike<number>) => {
  const a = Float64Array.from(v);
  return new Uint8Array(a.buffer);
};
const DOUBLE = 11;
const FLOAT = 1;
const INT64 = 7;

function checkShape(dim: number, shape: GmmGraphOptions['shape']): [number, number, number] {
  const s = shape ?? [1, 1, dim];
  if (!Array.isArray(s) || s.length !== 3) throw new RangeError(`opts.shape must be [C, H, W], got ${describe(s)}`);
  s.forEach((d, i) => checkInt(`opts.shape[${i}]`, d, 1));
  if (s[0] * s[1] * s[2] !== dim)
    throw new RangeError(
      `opts.shape [${s.join(', ')}] must hold mixture.dim = ${dim} elements, got ${s[0] * s[1] * s[2]}`,
    );
  return [s[0], s[1], s[2]];
}

function isotropic(mixture: GaussianMixture): Extract<GaussianMixture, { kind: 'isotropic' }> {
  const m = validateMixture(mixture);
  if (m.kind !== 'isotropic')
    throw new TypeError(
      `mixture must be isotropic (kind 'isotropic'); the ONNX export has no diagonal form, got kind '${m.kind}'`,
    );
  return m;
}

function checkSchedule(schedule: NoiseSchedule): NoiseSchedule {
  if (!schedule || typeof schedule !== 'object' || !(schedule.alphasCumprod instanceof Float64Array)) {
    throw new TypeError(`schedule must be a NoiseSchedule (makeSchedule(...)), got ${describe(schedule)}`);
  }
  return schedule;
}

/** The graph of the exact ε of an isotropic mixture under `schedule` (see the file comment). */
// Over 60 lines: one ONNX graph written node by node in the order of the formula above; split, it would hide which value feeds which node.
export function gmmUnetGraph(
  mixture: GaussianMixture,
  schedule: NoiseSchedule,
  opts: GmmGraphOptions = {},
): GraphBuilder {
  const m = isotropic(mixture);
  checkSchedule(schedule);
  const [C, H, W] = checkShape(m.dim, opts.shape);
  const d = m.dim;
  const active: number[] = [];
  for (let k = 0; k < m.weights.length; k++) if (m.weights[k] > 0) active.push(k);
  const K = active.length;
  const T = schedule.alphasCumprod.length;

  const g = graphBuilder('gmm_unet');
  g.input('sample', 'float32', ['batch', C, H, W]);
  g.input('timestep', 'float32', []);
  g.input('encoder_hidden_states', 'float32', ['batch', 1, 1]);
  const dbl = (dims: number[], v: ArrayLike<number>) => g.initializer(null, 'float64', dims, f64(v));

  // ᾱ lookup: index = t < 0 ? T : int(t).
  const table = new Float64Array(T + 1);
  table.set(schedule.alphasCumprod);
  table[T] = schedule.finalAlphaCumprod;
  const tInt = g.op('Cast', ['timestep'], { to: attr.i(INT64) });
  const idx = g.op('Where', [g.op('Less', [tInt, g.i64([], [0])]), g.i64([], [T]), tInt]);
  const abar = g.op('Gather', [dbl([T + 1], table), idx], { axis: attr.i(0) });
  const a = g.op('Sqrt', [abar]);
  const s2 = g.op('Sub', [dbl([], [1]), abar]);
  const s = g.op('Sqrt', [s2]);

  // Per component: μ as [d, K] and [K, d], ‖μₖ‖², σₖ², log πₖ.
  const muT = new Float64Array(d * K);
  const mu = new Float64Array(K * d);
  const mm = new Float64Array(K);
  const vars = new Float64Array(K);
  const logPi = new Float64Array(K);
  active.forEach((k, j) => {
    let n2 = 0;
    for (let i = 0; i < d; i++) {
      const v = m.means[k * d + i];
      muT[i * K + j] = v;
      mu[j * d + i] = v;
      n2 += v * v;
    }
    mm[j] = n2;
    vars[j] = m.variances[k];
    logPi[j] = Math.log(m.weights[k]);
  });

  const x = g.op('Cast', [g.op('Reshape', ['sample', g.i64([2], [-1, d])])], { to: attr.i(DOUBLE) }); // [b, d]
  const xx = g.op('ReduceSum', [g.op('Mul', [x, x]), g.i64([1], [1])], { keepdims: attr.i(1) }); // [b, 1]
  const xm = g.op('MatMul', [x, dbl([d, K], muT)]); // [b, K]
  // ‖x − aμₖ‖² = ‖x‖² − 2a⟨x, μₖ⟩ + a²‖μₖ‖²
  const a2 = g.op('Mul', [a, a]);
  const dist2 = g.op('Add', [
    g.op('Sub', [xx, g.op('Mul', [g.op('Mul', [a, dbl([], [2])]), xm])]),
    g.op('Mul', [a2, dbl([1, K], mm)]),
  ]);
  const c = g.op('Add', [g.op('Mul', [a2, dbl([1, K], vars)]), s2]); // [1, K]
  // ℓₖ = log πₖ − ½ d log(2π cₖ) − ½ dist2/cₖ
  const logNorm = g.op('Sub', [
    dbl([1, K], logPi),
    g.op('Mul', [dbl([], [0.5 * d]), g.op('Log', [g.op('Mul', [dbl([], [2 * Math.PI]), c])])]),
  ]);
  const ell = g.op('Sub', [logNorm, g.op('Mul', [dbl([], [0.5]), g.op('Div', [dist2, c])])]);
  const r = g.op('Softmax', [ell], { axis: attr.i(-1) });
  const rc = g.op('Div', [r, c]); // rₖ/cₖ
  const sumRc = g.op('ReduceSum', [rc, g.i64([1], [1])], { keepdims: attr.i(1) });
  const negScore = g.op('Sub', [g.op('Mul', [x, sumRc]), g.op('Mul', [a, g.op('MatMul', [rc, dbl([K, d], mu)])])]);
  const eps = g.op('Cast', [g.op('Mul', [s, negScore])], { to: attr.i(FLOAT) });
  g.op('Reshape', [eps, g.op('Shape', ['sample'])], undefined, 'out_sample');
  g.output('out_sample', 'float32', ['batch', C, H, W]);
  return g;
}

/** The model bytes of gmmUnetGraph. */
export function gmmOnnxModel(
  mixture: GaussianMixture,
  schedule: NoiseSchedule,
  opts: GmmGraphOptions = {},
): Uint8Array {
  return gmmUnetGraph(mixture, schedule, opts).encode({ meta: { producerName: 'amdm', producerVersion: '1' } }).model;
}

/** diffusers scheduler_config.json of a schedule (the inverse of scheduleConfigFromJson). */
export function schedulerConfigJson(schedule: NoiseSchedule): Record<string, unknown> {
  const c = checkSchedule(schedule).config;
  return {
    _class_name: 'DDIMScheduler',
    beta_start: c.betaStart,
    beta_end: c.betaEnd,
    beta_schedule: c.betaSchedule,
    num_train_timesteps: c.numTrainTimesteps,
    set_alpha_to_one: c.setAlphaToOne,
    steps_offset: c.stepsOffset,
    timestep_spacing: c.timestepSpacing,
    prediction_type: 'epsilon',
    clip_sample: false,
  };
}

/**
 * A model folder with the mixture's UNet: model_index.json, scheduler/scheduler_config.json,
 * unet/model.onnx. Load it with `loadModelFolder(dir, { components: ['unet'] })` and run it with
 * `createUnetDenoiser({ unet, cond: new Float32Array(1), guidance: 1 })`. Written into a
 * temporary folder renamed into place; returns the absolute path.
 */
export async function writeGmmModelFolder(
  dir: string,
  mixture: GaussianMixture,
  schedule: NoiseSchedule,
  opts: GmmGraphOptions = {},
): Promise<string> {
  if (typeof dir !== 'string' || dir === '')
    throw new TypeError(`dir must be a non-empty folder path, got ${describe(dir)}`);
  const model = gmmOnnxModel(mixture, schedule, opts);
  const root = resolve(dir);
  const tmp = `${root}.tmp-${process.pid}-${Date.now()}`;
  const files: [string, Uint8Array | string][] = [
    [
      'model_index.json',
      `${JSON.stringify({ _class_name: 'GaussianMixtureUnet', scheduler: ['diffusers', 'DDIMScheduler'], unet: ['onnxruntime', 'ORTModelUnet'] }, null, 2)}\n`,
    ],
    ['scheduler/scheduler_config.json', `${JSON.stringify(schedulerConfigJson(schedule), null, 2)}\n`],
    ['unet/model.onnx', model],
  ];
  try {
    for (const [rel, data] of files) {
      await mkdir(dirname(join(tmp, rel)), { recursive: true });
      await writeFile(join(tmp, rel), data);
    }
    await rm(root, { recursive: true, force: true });
    await rename(tmp, root);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return root;
}

export type OnnxDenoiser = Denoiser & { release(): Promise<void> };

/** The mixture's ε as a core Denoiser over an in-memory ONNX session (guidance 1, no text). */
export async function gmmOnnxDenoiser(
  mixture: GaussianMixture,
  schedule: NoiseSchedule,
  opts: GmmGraphOptions & SessionOptions & { name?: string } = {},
): Promise<OnnxDenoiser> {
  const m = isotropic(mixture);
  const T = checkSchedule(schedule).alphasCumprod.length;
  const shape = checkShape(m.dim, opts.shape);
  const session = await openSession(gmmOnnxModel(m, schedule, { shape }), opts);
  const unet = unetModel(session, 'gmm_unet');
  const inner = createUnetDenoiser({
    unet,
    cond: new Float32Array(1),
    guidance: 1,
    name: opts.name ?? `onnx gmm(K=${m.weights.length}, dim=${m.dim})`,
  });
  return {
    name: inner.name,
    eps(x, t, batch) {
      // Same timesteps as mixtureDenoiser over a NoiseSchedule: an integer ≤ T − 1, negative = final ᾱ.
      if (typeof t !== 'number' || !Number.isInteger(t) || t > T - 1) {
        throw new RangeError(
          `t must be an integer timestep in [0, ${T - 1}], or negative for the final ᾱ, got ${describe(t)}`,
        );
      }
      return inner.eps(x, t, batch);
    },
    release: () => session.release(),
  };
}

export const SHAPES_BACKENDS = ['js', 'onnx'] as const;
export type ShapesBackend = (typeof SHAPES_BACKENDS)[number];

/**
 * A Shapes-world expert (layout / attribute / style / oracle) for `prompt` as a Denoiser: the
 * pure-JS exact mixtureDenoiser ('js') or the same mixture as an ONNX graph ('onnx', shape
 * [3, height, width]). `release()` frees the ONNX session (a no-op for 'js').
 */
export async function shapesExpertDenoiser(
  world: ShapesWorld,
  prompt: ShapesPrompt,
  expertName: ExpertName,
  schedule: NoiseSchedule,
  backend: ShapesBackend,
  opts: SessionOptions = {},
): Promise<OnnxDenoiser> {
  if (typeof expertName !== 'string' || !Object.hasOwn(EXPERTS, expertName)) {
    throw new RangeError(
      `expertName must be one of ${Object.keys(EXPERTS)
        .map((e) => `'${e}'`)
        .join(', ')}, got ${describe(expertName)}`,
    );
  }
  if (!(SHAPES_BACKENDS as readonly string[]).includes(backend)) {
    throw new RangeError(`backend must be one of 'js', 'onnx', got ${describe(backend)}`);
  }
  const mixture = EXPERTS[expertName](world, prompt);
  const name = `${expertName} (${backend})`;
  if (backend === 'js') {
    const d = mixtureDenoiser(mixture, schedule, { name });
    return { name, eps: (x, t, b) => d.eps(x, t, b), release: async () => undefined };
  }
  return gmmOnnxDenoiser(mixture, schedule, { ...opts, shape: [3, world.height, world.width], name });
}

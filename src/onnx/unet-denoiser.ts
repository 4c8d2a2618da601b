/**
 * A core `Denoiser` over an ONNX UNet with classifier-free guidance batched into one run.
 *
 * Rows of every batched input: B unconditional rows, then B conditional rows, and
 *   ε = ε_u + g·(ε_c − ε_u)
 * (sources M§2.7: `latent_model_input = cat([x, x])`, text `cat([negative, positive])`).
 * With g = 1 the unconditional rows are dropped and one run of B conditional rows gives ε_c.
 *
 * Every feed and the output are built once per batch size and reused: the text embeddings and
 * any extra conditioning tensors are cast into their declared dtype once; the output is a
 * preallocated tensor that onnxruntime writes into (no output allocation per run; a float32
 * output is read in place). Each step only refills the latent (copied into both halves) and the
 * timestep, cast per declared dtype and shape: float32/float16 scalar [] (optimum ≥ 1.24),
 * int64 [steps] (older optimum: one value), float [batch] (legacy diffusers script: one per row).
 * With guidance, the core's `cfgCombine` combines the halves and one scan checks the result for
 * non-finite values (a non-finite value in either half always yields one in ε).
 */
import { cfgCombine } from '../core/ddim.ts';
import { firstNonFinite } from '../core/tensor.ts';
import type { Denoiser } from '../core/types.ts';
import { checkFiniteNumber, checkFloat32, checkInt } from '../core/validate.ts';
import { allocElements, castInto, fillCast, readFloat32, type ElementArray } from './dtype.ts';
import type { UnetModel } from './model-folder.ts';
import { REQUIRED_ROLES } from './manifest.ts';
import { describeInfo, tensorOver, type OnnxTensor, type TensorInfo } from './session.ts';

/** A batched conditioning input: one row per sample (or one row broadcast to all samples). */
export interface ConditionInput {
  /** Rows for the conditional half: 1 row (broadcast) or `batch` rows. */
  cond: ArrayLike<number>;
  /** Rows for the unconditional half (required when guidance ≠ 1). */
  uncond?: ArrayLike<number>;
  /** Dims of one row, needed when the graph declares symbolic non-batch dims. */
  rowDims?: readonly number[];
}

/** An input fed as is, the same for every run (e.g. a scale scalar, a permutation). */
export interface ConstantInput {
  value: ArrayLike<number> | number;
  /** Needed when the graph declares symbolic dims (default: the declared dims). */
  dims?: readonly number[];
}

export interface UnetDenoiserOptions {
  unet: UnetModel;
  /** Conditional text embeddings: [1 or batch, textLength, textWidth]. */
  cond: Float32Array;
  /** Unconditional (negative prompt) embeddings, same layout; required unless guidance = 1. */
  uncond?: Float32Array;
  /** Guidance scale g ≥ 0 (default 7.5, the SD/AMDM value). */
  guidance?: number;
  /** Values of the graph's other roles (boxes, masks, scale, …), keyed by role. */
  extras?: Readonly<Record<string, ConditionInput | ConstantInput>>;
  /** [height, width] of the latent when the graph declares them symbolic. */
  latentSize?: readonly [number, number];
  /** Text sequence length when the graph declares it symbolic (default 77, CLIP's length). */
  textLength?: number;
  name?: string;
}

export interface UnetDenoiser extends Denoiser {
  readonly guidance: number;
  /** Elements per sample: channels·height·width. */
  readonly dim: number;
}

/** What the denoiser checks once: the UNet, the guidance, the latent's and the text's sizes, the extra inputs. */
interface UnetSetup {
  readonly unet: UnetModel;
  readonly guidance: number;
  /** guidance ≠ 1: the unconditional rows run too. */
  readonly cfg: boolean;
  /** Latent channels, height, width, and C·H·W. */
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly dim: number;
  /** Text length and width, and L·D values per row. */
  readonly L: number;
  readonly D: number;
  readonly textRow: number;
  readonly cond: Float32Array;
  readonly uncond: Float32Array | undefined;
  readonly extraInputs: readonly ExtraInput[];
}

/** A graph input with a role besides latent, timestep and text, and the value given for it. */
interface ExtraInput {
  role: string;
  info: TensorInfo;
  value: ConditionInput | ConstantInput;
}

/** The feeds and output of one batch size, built once and reused by every run at that size. */
interface Prepared {
  batch: number;
  rows: number;
  feeds: Record<string, OnnxTensor>;
  latent: ElementArray;
  timestep: ElementArray;
  /** Preallocated outputs for `run` (the output name → a tensor over `raw`), when the output is declared 4-D. */
  fetches: Record<string, OnnxTensor> | undefined;
  /** The preallocated output's buffer in its own dtype. */
  raw: ElementArray | null;
  /** The output as float32: `raw` itself for a float32 output, else a converted copy. */
  out: Float32Array;
  eps: Float32Array;
}

export function createUnetDenoiser(opts: UnetDenoiserOptions): UnetDenoiser {
  const setup = unetSetup(opts);
  const { unet, guidance, dim, C, H, W } = setup;
  let prepared: Prepared | null = null;
  return Object.freeze({
    name: opts.name ?? unet.file,
    guidance,
    dim,
    async eps(x: Float32Array, t: number, batch: number): Promise<Float32Array> {
      checkInt('batch', batch, 1);
      checkFloat32('x', x);
      if (x.length !== batch * dim) {
        throw new RangeError(
          `x must have length batch·${C}·${H}·${W} = ${batch * dim} for batch ${batch}, got ${x.length}`,
        );
      }
      checkFiniteNumber('t', t);
      if (prepared === null || prepared.batch !== batch) prepared = prepare(setup, batch);
      return runUnet(setup, prepared, x, t);
    },
  });
}

/** The options checked: the UNet, the guidance, the sizes, the embeddings and the extra inputs. */
function unetSetup(opts: UnetDenoiserOptions): UnetSetup {
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  const { unet } = opts;
  if (!unet || typeof unet !== 'object' || !unet.session || !unet.latent) {
    throw new TypeError('unet must be a UnetModel (from loadModelFolder(...).unet)');
  }
  const guidance = checkFiniteNumber('guidance', opts.guidance ?? 7.5, 0);
  const cfg = guidance !== 1;
  const C = unet.latentChannels;
  const [H, W] = latentHW(unet, opts.latentSize);
  const D = unet.textWidth;
  const L = unet.textLength ?? opts.textLength ?? 77;
  if (opts.textLength !== undefined) {
    checkInt('textLength', opts.textLength, 1);
    if (unet.textLength !== null && opts.textLength !== unet.textLength)
      throw new RangeError(`textLength must equal the declared ${unet.textLength}, got ${opts.textLength}`);
  }
  const textRow = L * D;
  if (!(opts.cond instanceof Float32Array))
    throw new TypeError('cond must be a Float32Array of text embeddings [rows, textLength, textWidth]');
  checkRows('cond', opts.cond.length, textRow, `[${L}, ${D}] text embeddings`);
  if (cfg) {
    if (!(opts.uncond instanceof Float32Array)) {
      throw new TypeError(
        `uncond must be a Float32Array of text embeddings when guidance != 1 (guidance = ${guidance})`,
      );
    }
    checkRows('uncond', opts.uncond.length, textRow, `[${L}, ${D}] text embeddings`);
  }
  const extraInputs = extraInputsOf(unet, opts.extras ?? {});
  return {
    unet,
    guidance,
    cfg,
    C,
    H,
    W,
    dim: C * H * W,
    L,
    D,
    textRow,
    cond: opts.cond,
    uncond: opts.uncond,
    extraInputs,
  };
}

/** Every graph input that is not latent/timestep/text, with its value; a missing or unknown role is an error. */
function extraInputsOf(unet: UnetModel, extras: NonNullable<UnetDenoiserOptions['extras']>): ExtraInput[] {
  const extraInputs: ExtraInput[] = [];
  for (const [role, info] of unet.roles) {
    if ((REQUIRED_ROLES as readonly string[]).includes(role)) continue;
    const value = extras[role];
    if (value === undefined) {
      throw new RangeError(
        `unet input '${info.name}' ${describeInfo(info)} has role '${role}' and needs a value: pass extras.${role}`,
      );
    }
    extraInputs.push({ role, info, value });
  }
  for (const role of Object.keys(extras)) {
    if (!unet.roles.has(role) || (REQUIRED_ROLES as readonly string[]).includes(role)) {
      const known = [...unet.roles.keys()].filter((r) => !(REQUIRED_ROLES as readonly string[]).includes(r));
      throw new RangeError(
        `extras.${role}: the unet has no input with that role; extra roles: ${known.length ? known.join(', ') : '(none)'}`,
      );
    }
  }
  return extraInputs;
}

/** The feeds and the output of `batch` samples: latent and timestep to fill per run, text and extras cast once. */
function prepare(s: UnetSetup, batch: number): Prepared {
  const { unet, cfg, C, H, W, dim, L, D, textRow } = s;
  const rows = cfg ? 2 * batch : batch;
  const feeds: Record<string, OnnxTensor> = {};
  const latent = allocElements(unet.latent.type, rows * dim);
  feeds[unet.latent.name] = tensorOver(unet.latent.type, latent, [rows, C, H, W]);

  const tCount = timestepCount(unet.timestep, rows);
  const timestep = allocElements(unet.timestep.type, tCount);
  feeds[unet.timestep.name] = tensorOver(
    unet.timestep.type,
    timestep,
    unet.timestep.shape.length === 0 ? [] : [tCount],
  );

  const text = allocElements(unet.text.type, rows * textRow);
  fillRows('cond', s.cond, textRow, batch, unet.text, text, cfg ? batch : 0);
  if (cfg) fillRows('uncond', s.uncond!, textRow, batch, unet.text, text, 0);
  feeds[unet.text.name] = tensorOver(unet.text.type, text, [rows, L, D]);

  for (const input of s.extraInputs)
    feeds[input.info.name] = 'cond' in input.value ? conditionFeed(s, input, batch) : constantFeed(input);
  // onnxruntime checks a preallocated output's dims, so only a declared [rows, C, H, W] gets one
  const raw = unet.output.shape.length === 4 ? allocElements(unet.output.type, rows * dim) : null;
  const fetches = raw ? { [unet.output.name]: tensorOver(unet.output.type, raw, [rows, C, H, W]) } : undefined;
  const out = raw && unet.output.type === 'float32' ? (raw as Float32Array) : new Float32Array(rows * dim);
  return { batch, rows, feeds, latent, timestep, fetches, raw, out, eps: new Float32Array(batch * dim) };
}

/** A batched conditioning input: its cond rows (and uncond rows with guidance), cast into the declared dtype. */
function conditionFeed(s: UnetSetup, { role, info, value }: ExtraInput, batch: number): OnnxTensor {
  const { cond, uncond } = value as ConditionInput;
  const rowDims = (value as ConditionInput).rowDims ?? info.shape.slice(1);
  if (rowDims.some((d) => typeof d !== 'number' || d < 0)) {
    throw new RangeError(
      `extras.${role}: unet input '${info.name}' is ${describeInfo(info)}; pass rowDims (the dims of one row)`,
    );
  }
  const rows = s.cfg ? 2 * batch : batch;
  const dims = [rows, ...(rowDims as number[])];
  const rowSize = (rowDims as number[]).reduce((p, d) => p * d, 1);
  checkDeclared(`extras.${role}`, info, dims);
  const data = allocElements(info.type, rows * rowSize);
  checkRows(`extras.${role}.cond`, cond.length, rowSize, `rows of [${rowDims.join(', ')}]`, batch);
  fillRows(`extras.${role}.cond`, cond, rowSize, batch, info, data, s.cfg ? batch : 0);
  if (s.cfg) {
    if (uncond === undefined) throw new TypeError(`extras.${role}.uncond is required when guidance != 1`);
    checkRows(`extras.${role}.uncond`, uncond.length, rowSize, `rows of [${rowDims.join(', ')}]`, batch);
    fillRows(`extras.${role}.uncond`, uncond, rowSize, batch, info, data, 0);
  }
  return tensorOver(info.type, data, dims);
}

/** An input fed as is, cast into the declared dtype once. */
function constantFeed({ role, info, value }: ExtraInput): OnnxTensor {
  const c = value as ConstantInput;
  const dims = c.dims ?? info.shape;
  if (dims.some((d) => typeof d !== 'number' || d < 0)) {
    throw new RangeError(`extras.${role}: unet input '${info.name}' is ${describeInfo(info)}; pass dims`);
  }
  checkDeclared(`extras.${role}`, info, dims as number[]);
  const values = typeof c.value === 'number' ? [c.value] : c.value;
  const count = (dims as number[]).reduce((p, d) => p * d, 1);
  if (values.length !== count)
    throw new RangeError(
      `extras.${role}.value must hold ${count} values for dims [${dims.join(', ')}], got ${values.length}`,
    );
  const data = allocElements(info.type, count);
  castInto(`extras.${role}.value`, values, info.type, data);
  return tensorOver(info.type, data, dims as number[]);
}

/** One UNet run on the prepared feeds: x into both halves, t, then ε (guided with cfg), checked finite. */
async function runUnet(s: UnetSetup, p: Prepared, x: Float32Array, t: number): Promise<Float32Array> {
  const { unet, cfg, dim, guidance } = s;
  const batch = p.batch;
  castInto('x', x, unet.latent.type, p.latent, 0);
  if (cfg) castInto('x', x, unet.latent.type, p.latent, batch * dim);
  fillCast('t', t, unet.timestep.type, p.timestep, 0, p.timestep.length);
  const result = await unet.session.run(p.feeds, p.fetches);
  const o = result[unet.output.name];
  if (!o) throw new RangeError(`${unet.file} returned no output '${unet.output.name}'`);
  if (o.data.length !== p.rows * dim) {
    throw new RangeError(
      `${unet.file} output '${unet.output.name}' has ${o.data.length} values, expected ${p.rows}·${dim} = ${p.rows * dim} (dims [${o.dims.join(', ')}])`,
    );
  }
  const out = p.out === p.raw ? p.out : readFloat32(`output '${unet.output.name}'`, o.type, p.raw ?? o.data, p.out);
  if (!cfg) {
    checkFinite(unet.file, unet.output.name, out, t);
    return out;
  }
  // ε = ε_u + g·(ε_c − ε_u), uncond rows first
  const n = batch * dim;
  const eps = cfgCombine(out.subarray(0, n), out.subarray(n, 2 * n), guidance, p.eps);
  if (firstNonFinite(eps) >= 0) {
    checkFinite(unet.file, unet.output.name, out, t);
    throw new RangeError(`${unet.file}: the guided ε (guidance ${guidance}) overflows float32 at t = ${t}`);
  }
  return eps;
}

function checkFinite(file: string, output: string, out: Float32Array, t: number): void {
  const i = firstNonFinite(out);
  if (i >= 0)
    throw new RangeError(`${file} output '${output}' has a non-finite value ${out[i]} at index ${i} (t = ${t})`);
}

function latentHW(unet: UnetModel, size: readonly [number, number] | undefined): [number, number] {
  if (size !== undefined) {
    if (!Array.isArray(size) || size.length !== 2 || !size.every((v) => Number.isInteger(v) && v >= 1)) {
      throw new RangeError(`latentSize must be [height, width] with positive integers, got ${JSON.stringify(size)}`);
    }
    if (
      (unet.latentHeight !== null && unet.latentHeight !== size[0]) ||
      (unet.latentWidth !== null && unet.latentWidth !== size[1])
    ) {
      throw new RangeError(
        `latentSize [${size.join(', ')}] differs from the declared latent ${describeInfo(unet.latent)}`,
      );
    }
    return [size[0], size[1]];
  }
  if (unet.latentHeight === null || unet.latentWidth === null) {
    throw new RangeError(
      `${unet.file} declares latent ${describeInfo(unet.latent)} with a symbolic height/width; pass latentSize: [height, width]`,
    );
  }
  return [unet.latentHeight, unet.latentWidth];
}

/**
 * How many timestep values to feed: 1 for a scalar [], the declared size for a fixed 1-D dim,
 * one per row for a symbolic dim named like "batch" (legacy diffusers script), else 1 (optimum's
 * "steps" axis; its ORT pipeline feeds `[t]`).
 */
function timestepCount(info: TensorInfo, rows: number): number {
  if (info.shape.length === 0) return 1;
  const d = info.shape[0];
  if (typeof d === 'number' && d > 0) {
    if (d !== 1 && d !== rows)
      throw new RangeError(
        `timestep input '${info.name}' is ${describeInfo(info)}; a fixed size must be 1 or the row count ${rows}`,
      );
    return d;
  }
  return typeof d === 'string' && /batch/i.test(d) ? rows : 1;
}

function checkRows(name: string, length: number, rowSize: number, what: string, batch?: number): void {
  if (rowSize === 0 || length % rowSize !== 0 || length === 0) {
    throw new RangeError(`${name} must hold whole ${what} (${rowSize} values each), got ${length} values`);
  }
  const r = length / rowSize;
  if (batch !== undefined && r !== 1 && r !== batch) {
    throw new RangeError(`${name} holds ${r} ${what}; expected 1 (broadcast) or batch = ${batch}`);
  }
}

/** Copy 1 (broadcast) or `batch` rows of `src` into `dst` starting at row `rowOffset`. */
function fillRows(
  name: string,
  src: ArrayLike<number>,
  rowSize: number,
  batch: number,
  info: TensorInfo,
  dst: ElementArray,
  rowOffset: number,
): void {
  const r = src.length / rowSize;
  if (r !== 1 && r !== batch)
    throw new RangeError(`${name} holds ${r} rows of ${rowSize} values; expected 1 (broadcast) or batch = ${batch}`);
  if (r === batch) {
    castInto(name, src, info.type, dst, rowOffset * rowSize);
    return;
  }
  for (let b = 0; b < batch; b++) castInto(name, src, info.type, dst, (rowOffset + b) * rowSize);
}

function checkDeclared(name: string, info: TensorInfo, dims: readonly number[]): void {
  if (
    dims.length !== info.shape.length ||
    dims.some((d, k) => typeof info.shape[k] === 'number' && (info.shape[k] as number) >= 0 && info.shape[k] !== d)
  ) {
    throw new RangeError(
      `${name}: dims [${dims.join(', ')}] do not fit unet input '${info.name}' ${describeInfo(info)}`,
    );
  }
}

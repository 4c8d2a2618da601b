/**
 * A point of the `amdm experiment map` grid (rule, w, s, η and its scale) and the sampler
 * settings it stands for. Shared by the map and the demo, which runs the map's best cell.
 */
import type { ShapesMethod } from './compare.ts';
import type { DeviationMode } from '../../core/deviation.ts';

/** η's scale in a cell: 'none' is η = 0 (no deviation step, the same for every scale). */
export type EtaScaleLabel = 'none' | 'absolute' | 'sqrtDim' | 'relative';
export const ETA_SCALE_LABELS: readonly EtaScaleLabel[] = ['absolute', 'sqrtDim', 'relative'];

/** One point of the map. */
export interface MapCell {
  rule: 'slerp' | 'lerp';
  /** w of every other model. */
  w: number;
  /** s of T. */
  s: number;
  scale: EtaScaleLabel;
  /** η (a length for 'absolute', ×√d for 'sqrtDim', the fraction λ for 'relative'; 0 for 'none'). */
  eta: number;
}

/** "η = 0.1×√d", "η = 0.3", "λ = 0.3", "η = 0". */
export function etaLabel(c: Pick<MapCell, 'scale' | 'eta'>): string {
  switch (c.scale) {
    case 'none':
      return 'η = 0';
    case 'absolute':
      return `η = ${c.eta}`;
    case 'sqrtDim':
      return `η = ${c.eta}·√d`;
    case 'relative':
      return `λ = ${c.eta}`;
  }
}

export function cellName(c: MapCell): string {
  return `${c.rule} w=${c.w} s=${c.s} ${etaLabel(c)}`;
}

/** The sampler settings of a cell. */
export function cellSettings(
  c: MapCell,
): Pick<ShapesMethod, 'rule' | 'weights' | 'aggregateSteps' | 'deviation' | 'eta' | 'etaScale'> {
  const deviation: DeviationMode = c.scale === 'relative' ? 'relative' : 'eq9';
  const etaScale = c.scale === 'absolute' ? 'absolute' : c.scale === 'sqrtDim' ? 'sqrtDim' : undefined;
  return { rule: c.rule, weights: c.w, aggregateSteps: c.s, deviation, eta: c.eta, ...(etaScale ? { etaScale } : {}) };
}

/** Small input checks that throw errors naming the parameter and the allowed range. */

export function checkInt(name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new TypeError(`${name} must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  if (v < min || v > max) throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  return v;
}

export function checkNumber(
  name: string,
  v: unknown,
  min = -Infinity,
  max = Infinity,
  opts?: { minExclusive?: boolean },
): number {
  // fast path first: hot loops call this every step, so nothing is built unless it throws
  const minEx = opts !== undefined && opts.minExclusive === true;
  if (
    typeof v === 'number' &&
    v >= min &&
    v <= max &&
    (!minEx || v !== min) &&
    (Number.isFinite(v) || v === max || v === min)
  )
    return v;
  const range = `${minEx ? '(' : '['}${min}, ${max}]`;
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw new TypeError(`${name} must be a number in ${range}, got ${describe(v)}`);
  }
  if (!Number.isFinite(v) && !(v === Infinity && max === Infinity) && !(v === -Infinity && min === -Infinity)) {
    throw new RangeError(`${name} must be a finite number in ${range}, got ${v}`);
  }
  throw new RangeError(`${name} must be in ${range}, got ${v}`);
}

/**
 * checkNumber for a value that must also be finite: checkNumber lets ±Infinity through when the
 * matching bound is infinite, this refuses it ("must be a finite number", with the range when
 * one is given).
 */
export function checkFiniteNumber(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v === 'number' && Number.isFinite(v)) return checkNumber(name, v, min, max);
  const range = min === -Infinity && max === Infinity ? '' : ` in [${min}, ${max}]`;
  const message = `${name} must be a finite number${range}, got ${describe(v)}`;
  throw typeof v === 'number' && !Number.isNaN(v) ? new RangeError(message) : new TypeError(message);
}

export function checkOneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new RangeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}

export function checkFloat32(name: string, v: unknown, length?: number): Float32Array {
  if (!(v instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(v)}`);
  if (length !== undefined && v.length !== length) {
    throw new RangeError(`${name} must have length ${length}, got ${v.length}`);
  }
  return v;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of length ${(v as unknown as { length: number }).length}`;
  return `a ${typeof v === 'object' ? ((v as object).constructor?.name ?? 'object') : typeof v}`;
}

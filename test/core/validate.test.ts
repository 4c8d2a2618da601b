import { describe, expect, it } from 'vitest';
import { checkFiniteNumber, checkNumber } from '../../src/core/validate.ts';

describe('checkFiniteNumber', () => {
  it('returns a finite number inside the range', () => {
    expect(checkFiniteNumber('t', 3)).toBe(3);
    expect(checkFiniteNumber('g', 0, 0)).toBe(0);
  });
  it('refuses ±Infinity even where checkNumber lets an infinite bound through', () => {
    expect(checkNumber('g', Infinity, 0)).toBe(Infinity);
    expect(() => checkFiniteNumber('g', Infinity, 0)).toThrow(
      new RangeError('g must be a finite number in [0, Infinity], got Infinity'),
    );
    expect(() => checkFiniteNumber('t', -Infinity)).toThrow(new RangeError('t must be a finite number, got -Infinity'));
  });
  it('names the parameter for NaN and non-numbers, and the range for a finite value outside it', () => {
    expect(() => checkFiniteNumber('t', NaN)).toThrow(new TypeError('t must be a finite number, got NaN'));
    expect(() => checkFiniteNumber('t', '1')).toThrow(new TypeError('t must be a finite number, got "1"'));
    expect(() => checkFiniteNumber('g', -1, 0)).toThrow(new RangeError('g must be in [0, Infinity], got -1'));
  });
});

/**
 * A command-line integer of the benches: `--name` as an integer ≥ min, else a RangeError naming
 * the flag, the value and the bench's usage line.
 */
export function intArg(name: string, value: string, min: number, usage: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new RangeError(`--${name} must be an integer ≥ ${min}, got ${value}\n${usage}`);
  return n;
}

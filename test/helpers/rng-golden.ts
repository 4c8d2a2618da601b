/**
 * Golden RNG values checked by both test/core/rng.test.ts (Node) and test-deno/rng_test.ts
 * (Deno), so both runtimes must produce the same float64 bits. Recorded once under Node.
 */

/** float64 bits as 16 hex digits. */
export function hex64(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16).padStart(16, '0');
}

/** The first 8 normal() outputs for seed 42, streams 0 and 1, as float64 bits. */
export const GOLDEN_SEED42_STREAM0 = [
  'bfebc848355bb63b',
  'bff635d85dfe8c4d',
  '400665ff563d1753',
  '3ff7a9dfddc9243b',
  'bfc7111845043baf',
  '40050ea0e3b17fd3',
  'c00075248ab91044',
  '3feb092de58355a6',
];
export const GOLDEN_SEED42_STREAM1 = [
  '3ff36c760b8660cd',
  '3fed2df58df086f5',
  '3fe49991127d646a',
  '3ff21d9f26aefcf5',
  'bfe4a5d508cb76f4',
  '40003a6826ba5dd9',
  '3fef3d6fc35dc51c',
  'bfe5733543b73c34',
];

/** torch.manual_seed(0); torch.randn(6), as published. */
export const TORCH_SEED0_RANDN6 = [1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986];

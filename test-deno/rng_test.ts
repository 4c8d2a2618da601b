// Golden values checked under Deno; test/core/rng.test.ts checks the same constants under Node,
// so both runtimes must produce the same float64 bits.
import { gaussianRng } from '../src/core/rng.ts';
import { torchRandn } from '../src/core/torch-rng.ts';

function assert(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

function hex64(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16).padStart(16, '0');
}

// First 8 normal() outputs for seed 42, streams 0 and 1, as float64 bits.
const GOLDEN_SEED42_STREAM0 = [
  'bfebc848355bb63b', 'bff635d85dfe8c4d', '400665ff563d1753', '3ff7a9dfddc9243b',
  'bfc7111845043baf', '40050ea0e3b17fd3', 'c00075248ab91044', '3feb092de58355a6',
];
const GOLDEN_SEED42_STREAM1 = [
  '3ff36c760b8660cd', '3fed2df58df086f5', '3fe49991127d646a', '3ff21d9f26aefcf5',
  'bfe4a5d508cb76f4', '40003a6826ba5dd9', '3fef3d6fc35dc51c', 'bfe5733543b73c34',
];

// torch.manual_seed(0); torch.randn(6)
const TORCH_SEED0_RANDN6 = [1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986];

for (const [stream, golden] of [[0, GOLDEN_SEED42_STREAM0], [1, GOLDEN_SEED42_STREAM1]] as const) {
  Deno.test(`gaussianRng(42, ${stream}) matches the golden float64 bits`, () => {
    const g = gaussianRng(42, stream);
    for (let i = 0; i < golden.length; i++) {
      const got = hex64(g.normal());
      assert(got === golden[i], `stream ${stream} value ${i}: expected ${golden[i]}, got ${got}`);
    }
  });
}

Deno.test('torchRandn(0, [6]) matches torch.randn(6) after torch.manual_seed(0)', () => {
  const x = torchRandn(0, [6]);
  for (let i = 0; i < 6; i++) {
    assert(Math.abs(x[i] - TORCH_SEED0_RANDN6[i]) < 1e-4, `value ${i}: expected ${TORCH_SEED0_RANDN6[i]}, got ${x[i]}`);
  }
});

/**
 * An aggregation rule of your own, registered when this module is imported:
 *
 *   npx tsx src/cli/main.ts --import examples/rules/my-rule.ts demo --rule myRule
 *   npx tsx src/cli/main.ts --import examples/rules/my-rule.ts generate job.json   # job: "rule": "myRule"
 *
 * `myRule` is eq. 8's pairwise shape with a smoothstep weight: lerp(a, b; w′), w′ = w²(3 − 2w),
 * which keeps eq. 8's endpoints (w = 0 gives a, w = 1 gives b) and moves slowly near them.
 * Outside this checkout, import `registerRule` from 'amdm' instead (README, "Add your own
 * aggregation rule").
 */
import { registerRule } from '../../src/index.ts';

registerRule({
  name: 'myRule',
  // one sample: a = the running merge (the target's proposal first), b = the next model's
  // proposal, w = b's weight; out may be a itself, so each a[i] is read before out[i] is written
  sample(a, b, w, out) {
    const s = w * w * (3 - 2 * w);
    for (let i = 0; i < a.length; i++) out[i] = (1 - s) * a[i] + s * b[i];
  },
});

/** `amdm demo --world mini`: the demo on the learned mini-zoo (src/experiments/zoo/demo.ts) from the demo's flags. */
import { runZooDemo } from '../experiments/zoo/demo.ts';

/** The demo flags `--world mini` takes; the others belong to the Shapes world. */
const MINI_FLAGS = ['prompts', 'steps', 's', 'eta', 'out', 'world', 'progress'];

/**
 * `amdm demo --world mini`: the flags the user typed (`given`) override the mini demo's own
 * defaults; a Shapes-only flag is refused, naming it.
 */
export async function runMiniDemoFromCli(
  opts: Record<string, unknown>,
  given: (key: string) => boolean,
): Promise<void> {
  const other = Object.keys(opts).filter((k) => given(k) && !MINI_FLAGS.includes(k));
  if (other.length) {
    const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new RangeError(
      `--world mini takes --prompts, --steps, --s, --eta and --out; ${other.map(flag).join(', ')} belong${other.length === 1 ? 's' : ''} to the Shapes world`,
    );
  }
  const pick = (k: string) => (given(k) ? opts[k] : undefined) as never;
  await runZooDemo({
    prompts: pick('prompts'),
    steps: pick('steps'),
    s: pick('s'),
    eta: pick('eta'),
    out: pick('out'),
  });
}

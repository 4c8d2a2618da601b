/** POST /v1/demo (handler.ts): the Shapes-world demo (the flags of `amdm demo` as JSON), run in a slot. */
import { computeDemo, demoSchema, type DemoSettings } from '../jobs/demo.ts';
import { onnxExpertFactory } from '../jobs/demo-onnx.ts';
import { readJsonBody } from './body.ts';
import { HttpError, jsonResponse } from './errors.ts';
import { atMost, inSlot, type ServerContext } from './context.ts';
import { base64, eventStream, parseBody, pngResponse, type Format } from './responses.ts';

/** POST /v1/demo: the Shapes-world demo, answered as `format`. */
export async function demoRoute(ctx: ServerContext, request: Request, format: Format): Promise<Response> {
  const { limits, session } = ctx;
  const settings: DemoSettings = parseBody(demoSchema, await readJsonBody(request, limits.bodyBytes), 'demo');
  atMost('steps', settings.steps, limits.steps);
  atMost('prompts × samples', settings.prompts * settings.samples, limits.demoSamples);
  if (format === 'png' && settings.gridPrompts === 0)
    throw new HttpError(400, 'format: png answers the grid, and gridPrompts is 0; ask for format json', {
      field: 'format',
    });
  const factory = settings.backend === 'onnx' ? onnxExpertFactory(session.backend) : undefined;
  const label = `demo (${settings.prompts} prompts × ${settings.samples} samples, ${settings.steps} steps, ${settings.backend})`;
  const run = (signal: AbortSignal, send?: (event: string, data: unknown) => void) =>
    inSlot(ctx, label, signal, () =>
      computeDemo(settings, { factory, signal, yieldMs: 20, onProgress: send && ((p) => send('progress', p)) }),
    );
  const json = (d: Awaited<ReturnType<typeof run>>) => ({
    settings,
    lines: d.lines,
    results: d.results,
    grid: d.grid && base64(d.grid),
  });
  if (format === 'events')
    return eventStream(request.signal, async (signal, send) => send('result', json(await run(signal, send))));
  const done = await run(request.signal);
  return format === 'png' ? pngResponse(done.grid!) : jsonResponse(json(done));
}

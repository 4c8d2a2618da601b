/**
 * POST /v1/generate (handler.ts): a generate job (the JSON of `amdm generate`), checked against
 * the server's limits, its folders resolved inside the model roots, run in a slot, answered as a
 * PNG, JSON or server-sent events. Folders in the answer are the request's, not server paths.
 */
import { runJob, type JobRun } from '../jobs/generate.ts';
import { jobSchema, type GenerateJob } from '../jobs/job-schema.ts';
import { precheckJob } from '../jobs/job-precheck.ts';
import { readJsonBody } from './body.ts';
import { HttpError, jsonResponse } from './errors.ts';
import { atMost, inSlot, type ServerContext } from './context.ts';
import { publicError } from './public-error.ts';
import { jobSession } from './session-policy.ts';
import { base64, eventStream, parseBody, pngResponse, WARNING, warningHeader, type Format } from './responses.ts';

/** Every prompt and every text of a condition (e.g. MIGC's phrases) at most `max` characters. */
function checkTextLengths(job: GenerateJob, max: number): void {
  const check = (field: string, v: unknown): void => {
    if (typeof v === 'string' && v.length > max)
      throw new HttpError(
        400,
        `${field}: ${v.length} characters is over this server's limit of ${max} (the text encoder reads 77 tokens)`,
        { field },
      );
    if (Array.isArray(v)) v.forEach((x, i) => check(`${field}[${i}]`, x));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) check(`${field}.${k}`, x);
  };
  check('prompt', job.prompt);
  check('negativePrompt', job.negativePrompt);
  job.models.forEach((m, i) => {
    check(`models[${i}].prompt`, m.prompt);
    check(`models[${i}].conditions`, m.conditions);
  });
}

/** The job as the server runs it: limits, paths inside the roots, the server's session settings. */
async function serverJob(ctx: ServerContext, job: GenerateJob, named: ReadonlySet<string>): Promise<GenerateJob> {
  const { limits, session } = ctx;
  atMost('steps', job.steps, limits.steps);
  atMost('batch', job.batch, limits.batch);
  atMost('models', job.models.length, limits.models);
  checkTextLengths(job, limits.promptChars);
  if (job.height !== undefined) atMost('height', job.height, limits.imageSide);
  if (job.width !== undefined) atMost('width', job.width, limits.imageSide);
  const r = await ctx.roots;
  const models = [];
  for (const [i, m] of job.models.entries()) {
    const folder = await r.resolve(m.folder, `models[${i}].folder`, 'folder');
    const c = m.conditions as Record<string, unknown> | undefined;
    // the one file a condition names (an IP-Adapter style image) must be inside the roots too
    const conditions =
      c && typeof c.image === 'string'
        ? { ...c, image: await r.resolve(c.image, `models[${i}].conditions.image`, 'file') }
        : c;
    models.push({ ...m, folder, conditions });
  }
  const resolved = { ...job, models, ...jobSession(session, job, named) };
  // what needs no model loaded fails here, before the job takes a slot
  await precheckJob(resolved, (i) => job.models[i].folder).catch((e) => {
    throw publicError(e, r.roots);
  });
  return resolved;
}

/** JSON of a finished job; folders as the request named them, not as server paths. */
function jobJson(run: JobRun, asked: GenerateJob) {
  const resolved = run.resolved as { job: GenerateJob; models: { folder: string }[] };
  const folders = asked.models.map((m) => m.folder);
  return {
    images: run.files.map((f) => ({ name: f.name, type: 'image/png', base64: base64(f.data as Uint8Array) })),
    trace: run.trace,
    resolved: {
      ...resolved,
      job: {
        ...resolved.job,
        output: undefined,
        models: resolved.job.models.map((m, k) => ({ ...m, folder: folders[k] })),
      },
      models: resolved.models.map((m, k) => ({ ...m, folder: folders[k] })),
    },
  };
}

/** POST /v1/generate: a generate job, answered as `format`. */
export async function generateRoute(ctx: ServerContext, request: Request, format: Format): Promise<Response> {
  const { limits, log, cache } = ctx;
  const body = (await readJsonBody(request, limits.bodyBytes)) as Record<string, unknown>;
  const asked = parseBody(jobSchema, body, 'job');
  const job = await serverJob(ctx, asked, new Set(Object.keys(body)));
  const rootPaths = (await ctx.roots).roots;
  const images = job.batch * (job.saveAll ? job.models.length : 1);
  if (format === 'png' && images !== 1) {
    throw new HttpError(
      400,
      `format: png answers one image, this job makes ${images} (batch ${job.batch}${job.saveAll ? ', saveAll' : ''}); ask for format json`,
      { field: 'format' },
    );
  }
  const label = `generate (${job.models.length} model(s), ${job.steps} steps)`;
  // the run's warnings (a prompt longer than the text encoder reads) go to the client too
  const warnings: string[] = [];
  const runLog = (line: string) => {
    log(line);
    if (line.startsWith(WARNING)) warnings.push(line.slice(WARNING.length));
  };
  const run = (signal: AbortSignal, send?: (event: string, data: unknown) => void) =>
    inSlot(ctx, label, signal, () =>
      runJob(job, {
        pipelines: cache,
        signal,
        log: send
          ? (line) => (runLog(line), line.startsWith(WARNING) && send('warning', line.slice(WARNING.length)))
          : runLog,
        onReady:
          send && ((p) => send('ready', { models: p.models.map((m) => m.name), shape: p.shape, steps: job.steps })),
        onStep: send && ((s) => send('step', s)),
      }).catch((e) => {
        throw signal.aborted || e instanceof HttpError ? e : publicError(e, rootPaths);
      }),
    );
  if (format === 'events')
    return eventStream(request.signal, async (signal, send) =>
      send('result', { ...jobJson(await run(signal, send), asked), warnings }),
    );
  const done = await run(request.signal);
  const headers = warningHeader(warnings);
  return format === 'png'
    ? pngResponse(done.files[0].data as Uint8Array, headers)
    : jsonResponse({ ...jobJson(done, asked), warnings }, 200, headers);
}

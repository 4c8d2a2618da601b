/**
 * The output folder of `amdm generate` (output-folder.ts: checked before any model runs, written
 * as a whole once everything is computed, so a rerun replaces it and an interrupt leaves the
 * previous one):
 *   target.png (target-<b>.png for batch > 1)     the AMDM result (plain DDIM with one model)
 *   after-aggregation-<k>-<name>.png              each other model's own image from the shared
 *                                                 first s steps (saveAll; not the model alone)
 *   sheet.png                                     the contact sheet: prompt, boxes and legend,
 *                                                 every image upscaled and labelled
 *   results.json                                  every image file and what it is; for a MiniMIG
 *                                                 prompt ("minimig") the evaluator's scores
 *   trace.json                                    per-step trace (saveTrace)
 *   resolved.json                                 the settings with every default filled in,
 *                                                 absolute paths, and the run's call counts
 */
import { jsonText } from '../io/files.ts';
import { prepareOutputFolder, type OutputFolder } from '../io/output-folder.ts';
import type { JobRun } from './generate.ts';
import { generateReport } from './generate-report.ts';
import type { GenerateJob } from './job-schema.ts';

export interface GenerateSummary {
  outputDir: string;
  /** Absolute paths of the files written, resolved.json last. */
  files: string[];
  job: GenerateJob;
  calls: number[];
  totalCalls: number;
  textEncoderRuns: number;
  vaeRuns: number;
  /** results.json's document: every image file, what it is and (MiniMIG) its scores. */
  results: Record<string, unknown>;
}

/** The job's output folder, checked (and created) before any model runs; `param` names where it was given. */
export function prepareGenerateFolder(job: GenerateJob, param: string): Promise<OutputFolder> {
  return prepareOutputFolder(job.output, {
    command: 'generate',
    param,
    // model-<k>-<name>.png: what earlier versions named the images after aggregation
    writes:
      /^(target(-\d+)?\.png|(model|after-aggregation)-\d+-.+\.png|sheet\.png|results\.json|trace\.json|latents\.npy|resolved\.json)$/,
  });
}

/** Writes a finished run into its folder (see the header); `jobFile` is the job file's absolute path. */
export async function writeGenerateFolder(
  run: JobRun,
  output: OutputFolder,
  { job, jobFile }: { job: GenerateJob; jobFile: string },
): Promise<GenerateSummary> {
  const files = new Map<string, Uint8Array | string>();
  for (const f of run.files) files.set(f.name, f.data);
  const report = await generateReport(run);
  files.set('sheet.png', report.sheet);
  files.set('results.json', jsonText(report.results));
  if (run.trace) files.set('trace.json', jsonText(run.trace));
  files.set('resolved.json', jsonText({ ...run.resolved, jobFile, files: [...files.keys()] }));
  const written = await output.commit(files);
  const { result } = run;
  return {
    outputDir: output.path,
    files: written,
    job,
    calls: result.calls,
    totalCalls: result.totalCalls,
    textEncoderRuns: result.textEncoderRuns,
    vaeRuns: result.vaeRuns,
    results: report.results,
  };
}

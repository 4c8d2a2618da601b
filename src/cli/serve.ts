/** `amdm serve`: the HTTP handler (src/server/) on a port, for Node and Deno alike. */
import { Command, Option } from 'commander';
import { BACKENDS, DEVICES } from '../onnx/session.ts';
import { PLAYGROUND_BUILD_COMMAND } from '../server/playground-page.ts';
import { DEFAULT_LIMITS } from '../server/limits.ts';
import { intArg } from '../io/options.ts';

/**
 * The `serve` command: its flags, as the server's options. Over 60 lines because it is one option
 * declaration per flag, in the order `--help` lists them.
 */
export function serveCommand(): Command {
  const d = DEFAULT_LIMITS;
  return new Command('serve')
    .description(
      'answer HTTP requests: POST /v1/generate (a job, as for generate), POST /v1/demo, GET /health, and the built playground page at GET /playground/',
    )
    .option('--host <host>', 'address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--port <port>', 'port (0: any free one)', intArg(0, 65535), 8787)
    .option(
      '--allow-host <names...>',
      "Host header names answered beside localhost, *.localhost, IP addresses and --host ('*': any, behind a proxy); others get 403 (a DNS-rebinding guard)",
      [],
    )
    .option(
      '--allow-origin <origins...>',
      "origins of other sites (scheme://host[:port]) whose pages may call the server ('*': any); default none, so a cross-site request gets 403",
      [],
    )
    .option('--models <dirs...>', 'model roots: the only folders jobs may read models and style images from', [])
    .option('--concurrency <n>', 'jobs running at once', intArg(1, 1024), 1)
    .option('--queue <n>', 'jobs waiting for a slot; one more is answered 429', intArg(0, 100_000), 8)
    .option('--pipelines <n>', 'loaded model sets kept for later requests', intArg(1, 1024), 2)
    .option('--max-body <bytes>', 'request body limit', intArg(1), d.bodyBytes)
    .option('--max-steps <n>', 'steps per job', intArg(1, 1000), d.steps)
    .option('--max-batch <n>', 'samples per job', intArg(1, 64), d.batch)
    .option('--max-image-side <px>', 'height and width a job may ask for', intArg(8, 8192), d.imageSide)
    .option('--max-models <n>', 'models per job', intArg(1, 8), d.models)
    .option('--max-demo-samples <n>', 'prompts × samples per demo request', intArg(1, 1_000_000), d.demoSamples)
    .option(
      '--max-prompt <chars>',
      'characters of a prompt and of each text in a condition',
      intArg(1, 1_000_000),
      d.promptChars,
    )
    .addOption(
      new Option('--device <device>', "onnxruntime device for every job; a job may name it or 'cpu'")
        .choices(DEVICES)
        .default('cpu'),
    )
    .addOption(
      new Option(
        '--backend <backend>',
        "onnxruntime-node, onnxruntime-web (WASM; computes on the request thread, so the server answers nothing else meanwhile) or node when it loads, for every job; a job may name it or 'auto'",
      )
        .choices(BACKENDS)
        .default('node'),
    )
    .option(
      '--threads <n>',
      "intra-op threads per session for every job (0: onnxruntime's default, one per core); a job may ask for at most this many (at most the cores when 0)",
      intArg(0, 1024),
      0,
    )
    .option(
      '--playground <dir>',
      `folder of the built playground page, served at /playground/ (default: playground/dist of this checkout, which \`${PLAYGROUND_BUILD_COMMAND}\` writes)`,
    )
    .action(async (o) => {
      const { serveUntilStopped } = await import('../server/serve-process.ts');
      await serveUntilStopped({
        host: o.host,
        port: o.port,
        modelRoots: o.models,
        allowHosts: o.allowHost,
        allowOrigins: o.allowOrigin,
        concurrency: o.concurrency,
        queue: o.queue,
        pipelines: o.pipelines,
        limits: {
          bodyBytes: o.maxBody,
          steps: o.maxSteps,
          batch: o.maxBatch,
          imageSide: o.maxImageSide,
          models: o.maxModels,
          demoSamples: o.maxDemoSamples,
          promptChars: o.maxPrompt,
        },
        session: { device: o.device, backend: o.backend, threads: o.threads },
        ...(o.playground === undefined ? {} : { playground: o.playground }),
        log: (line) => console.error(line),
      });
    });
}

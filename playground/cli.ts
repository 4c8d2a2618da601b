/** `npm run playground`: builds the playground and serves it on 127.0.0.1, printing the URL. */
import { Command, Option } from 'commander';
import { buildPlayground, PLAYGROUND_DIST } from './build.ts';
import { serveStatic } from './serve.ts';

const program = new Command('playground')
  .description('build the AMDM playground (a static page) and serve it locally')
  .addOption(new Option('--port <n>', 'port on 127.0.0.1 (0: any free port)').default(5180).argParser((v) => Number(v)))
  .option('--out <dir>', 'where to write the built page', PLAYGROUND_DIST)
  .option('--build-only', 'build and exit without serving')
  .action(async (o: { port: number; out: string; buildOnly?: boolean }) => {
    const started = Date.now();
    const built = await buildPlayground(o.out);
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    const total = Object.values(built.files).reduce((a, b) => a + b, 0);
    console.log(
      `built ${built.dir} in ${Date.now() - started} ms (app.js ${kb(built.files['app.js'])}, worker.js ${kb(built.files['worker.js'])}, mini-zoo: zoo.js ${kb(built.files['zoo.js'])}, onnxruntime-web's .wasm and the models; ${(total / 2 ** 20).toFixed(0)} MiB in all)`,
    );
    if (o.buildOnly) return;
    const { url } = await serveStatic(built.dir, o.port);
    console.log(`AMDM playground: ${url}  (Ctrl+C stops)`);
  });

await program.parseAsync();

/**
 * src/onnx/worker-session.ts in the browser: UNets in worker threads (the pipeline's
 * `unetWorkers`) need Node's worker_threads; the playground never asks for them.
 */
export async function inWorkerThread(): Promise<never> {
  throw new Error('unetWorkers needs Node (node:worker_threads); the browser runs each UNet on its own thread');
}

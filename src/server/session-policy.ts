/**
 * The onnxruntime settings a job runs with on the server: the operator's flags decide them, and
 * a request can only ask for less. Threads: a job's `threads` may be at most the server's
 * (`--threads`; when that is 0, onnxruntime's default, the cap is the number of cores), else 400;
 * a job that names none runs with the server's. Backend: the server's (`--backend`, default
 * 'node'); a job may name it or 'auto', nothing else ('web', which runs on the request thread and
 * blocks the server while it computes, only where the operator chose it). Device: the server's
 * (`--device`, default 'cpu'); a job may name it or 'cpu'.
 */
import { availableParallelism } from 'node:os';
import type { Backend, Device } from '../onnx/session.ts';
import { HttpError } from './errors.ts';

export interface ServerSession {
  readonly device: Device;
  readonly backend: Backend;
  /** Intra-op threads per session (0: onnxruntime's default). */
  readonly threads: number;
  /** The most threads a job may ask for. */
  readonly maxThreads: number;
}

export const SERVER_BACKEND_DEFAULT: Backend = 'node';

export function serverSession(opts: { device?: Device; backend?: Backend; threads?: number } = {}): ServerSession {
  const threads = opts.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > 1024)
    throw new RangeError(`session.threads must be an integer in [0, 1024] (0: onnxruntime's default), got ${threads}`);
  return {
    device: opts.device ?? 'cpu',
    backend: opts.backend ?? SERVER_BACKEND_DEFAULT,
    threads,
    maxThreads: threads > 0 ? threads : availableParallelism(),
  };
}

/** What a job asked for (its parsed values; `named`: the body's own keys). */
interface Asked {
  device: Device;
  backend: Backend;
  threads: number;
}

/** The settings a job runs with, or a 400 naming the field it asked too much in. */
export function jobSession(server: ServerSession, asked: Asked, named: ReadonlySet<string>): Asked {
  if (named.has('threads') && asked.threads > server.maxThreads)
    throw new HttpError(
      400,
      `threads: must be ≤ ${server.maxThreads} on this server (amdm serve --threads), got ${asked.threads}`,
      { field: 'threads' },
    );
  const backends = server.backend === 'auto' ? ['auto', 'node'] : [server.backend, 'auto'];
  if (named.has('backend') && !backends.includes(asked.backend))
    throw new HttpError(
      400,
      `backend: this server runs backend '${server.backend}' (amdm serve --backend); a job may name ${backends.map((b) => `'${b}'`).join(' or ')}, got '${asked.backend}'`,
      { field: 'backend' },
    );
  const devices = [...new Set([server.device, 'cpu'])];
  if (named.has('device') && !devices.includes(asked.device))
    throw new HttpError(
      400,
      `device: this server runs on '${server.device}' (amdm serve --device); a job may name ${devices.map((d) => `'${d}'`).join(' or ')}, got '${asked.device}'`,
      { field: 'device' },
    );
  return {
    backend: server.backend,
    device: named.has('device') ? asked.device : server.device,
    threads: named.has('threads') && asked.threads > 0 ? asked.threads : server.threads,
  };
}

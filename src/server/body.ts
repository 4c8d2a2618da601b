/**
 * A request's JSON body, read with a byte limit: a declared Content-Length over the limit is
 * refused before reading, and a body without one stops being read at the limit.
 */
import { HttpError } from './errors.ts';

export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const type = request.headers.get('content-type');
  // required: a cross-site "simple" request (no preflight) cannot send this type
  if (type === null || !/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      `content-type must be application/json, got ${type === null ? 'none' : JSON.stringify(type)}`,
      {
        field: 'content-type',
      },
    );
  }
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    throw new HttpError(413, `body: ${declared} bytes is over this server's limit of ${maxBytes} bytes`, {
      field: 'body',
    });
  }
  if (!request.body) throw new HttpError(400, 'body: a JSON object is required', { field: 'body' });
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new HttpError(413, `body: over this server's limit of ${maxBytes} bytes`, { field: 'body' });
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new HttpError(400, `body is not valid JSON: ${(e as Error).message}`, { field: 'body' });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new HttpError(400, 'body must be a JSON object', { field: 'body' });
  return json;
}

/** An error with the HTTP status it answers and, where one is to blame, the request field. */
export class HttpError extends Error {
  readonly status: number;
  readonly field?: string;
  readonly headers?: Record<string, string>;
  constructor(
    status: number,
    message: string,
    opts: { field?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'HttpError';
    this.status = status;
    this.field = opts.field;
    this.headers = opts.headers;
  }
}

/** A JSON answer: `{ error, field? }` for errors, the value otherwise. */
export function jsonResponse(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(value)}\n`, {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

export function errorResponse(e: HttpError): Response {
  return jsonResponse({ error: e.message, ...(e.field !== undefined ? { field: e.field } : {}) }, e.status, e.headers);
}

/**
 * Which requests the server takes, against cross-site use from the user's own browser: any web
 * page can send a "simple" POST to a local server without a preflight, and a DNS-rebinding page
 * can make its own host name point at 127.0.0.1 and read the answers. So:
 *
 * - Host: only the names the server answers as (`localhost`, `*.localhost`, IP addresses) and
 *   those of `allowHosts` (listen() adds the name it listens on) (`--allow-host`; `*` turns the check off, for a
 *   server behind a proxy that sets Host); anything else is 403 naming the header.
 * - Origin: a request that carries one (browsers add it to cross-origin and to POST requests)
 *   must come from the server's own origin or one of `allowOrigins` (`--allow-origin`; `*`: any),
 *   else 403. Allowed cross-origin answers carry Access-Control-Allow-Origin.
 * - OPTIONS: a CORS preflight from an allowed origin is answered 204 with the methods and the
 *   content-type header it may send; from any other origin 403; without an Origin, 204 with Allow.
 * The body must be application/json (body.ts, 415), which no simple request can send.
 */
import { isIP } from 'node:net';
import { HttpError } from './errors.ts';

export interface RequestPolicyOptions {
  /** Host names accepted beside localhost, *.localhost and IP addresses; `*`: any. */
  allowHosts?: readonly string[];
  /** Origins (`scheme://host[:port]`) allowed to call from another site; `*`: any. */
  allowOrigins?: readonly string[];
}

export interface RequestPolicy {
  /** Throws 403 for a Host or Origin that is not allowed; returns the CORS headers of the answer. */
  check(request: Request, url: URL): Record<string, string>;
  /** The answer to an OPTIONS request (after `check`). */
  preflight(request: Request, methods: string): Response;
}

const ANY = '*';

/** The host name of a Host header value (`name:port`, `[v6]:port`), lower case. */
function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** `host[:port]` of an Origin value, lower case; null when it is not a URL (e.g. "null"). */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

function checkList(name: string, list: readonly string[] | undefined, valid: (s: string) => boolean): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new TypeError(`${name} must be an array of strings`);
  for (const s of list)
    if (typeof s !== 'string' || (s !== ANY && !valid(s)))
      throw new TypeError(`${name}: ${JSON.stringify(s)} is not valid`);
  return [...list];
}

/** `scheme://host[:port]` exactly as a browser sends it in Origin. */
function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
  } catch {
    return false;
  }
}

export function createRequestPolicy(opts: RequestPolicyOptions = {}): RequestPolicy {
  const hosts = checkList('allowHosts', opts.allowHosts, (s) => /^[a-z0-9.-]+$/i.test(s)).map((h) => h.toLowerCase());
  const origins = checkList('allowOrigins', opts.allowOrigins, isOrigin);
  const hostAllowed = (name: string) =>
    hosts.includes(ANY) ||
    hosts.includes(name) ||
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    isIP(name) !== 0;

  return {
    check(request, url): Record<string, string> {
      const host = request.headers.get('host') ?? url.host;
      const name = hostName(host);
      if (!hostAllowed(name))
        throw new HttpError(
          403,
          `host: this server does not answer as ${JSON.stringify(name)} (a DNS-rebinding guard); its operator can allow it with amdm serve --allow-host ${name}`,
          { field: 'host' },
        );
      const origin = request.headers.get('origin');
      if (origin === null) return {};
      // the same host and port as the request's Host: the page the server itself serves (the
      // scheme is not compared, so a TLS proxy in front, which speaks http to the server, still matches)
      if (originHost(origin) === host.trim().toLowerCase()) return {};
      if (origins.includes(ANY) || origins.includes(origin))
        return { 'access-control-allow-origin': origin, vary: 'origin' };
      throw new HttpError(
        403,
        `origin: requests from ${JSON.stringify(origin)} are not allowed (a cross-site guard); its operator can allow them with amdm serve --allow-origin ${origin}`,
        { field: 'origin' },
      );
    },
    preflight(request, methods) {
      const headers: Record<string, string> = { allow: methods };
      if (request.headers.get('origin') !== null) {
        headers['access-control-allow-methods'] = methods;
        headers['access-control-allow-headers'] = 'content-type';
        headers['access-control-max-age'] = '600';
      }
      return new Response(null, { status: 204, headers });
    },
  };
}

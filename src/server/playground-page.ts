/**
 * The built playground page behind the handler: GET /playground/<file> serves the files of the
 * build folder (static.ts), GET / and /playground redirect to /playground/, and while the page
 * is not built every such path answers 404 naming the command that builds it.
 */
import { fileURLToPath } from 'node:url';
import { HttpError } from './errors.ts';
import { readStaticFile } from './static.ts';

/** Where `npm run playground -- --build-only` writes the page in a checkout (null when this module is not a file). */
export const PLAYGROUND_BUILD: string | null = (() => {
  try {
    return fileURLToPath(new URL('../../playground/dist/', import.meta.url));
  } catch {
    return null; // bundled or loaded from a URL: there is no checkout beside it
  }
})();

/** The command that builds the page, for the 404 while it is missing. */
export const PLAYGROUND_BUILD_COMMAND = 'npm run playground -- --build-only';

/** Whether the page answers `path`. */
export function isPlaygroundPath(path: string): boolean {
  return path === '/' || path === '/playground' || path.startsWith('/playground/');
}

/** The page's route over the build folder `dir` (null: no page). */
export function playgroundRoute(dir: string | null): (request: Request, path: string) => Promise<Response> {
  if (dir !== null && (typeof dir !== 'string' || dir === ''))
    throw new TypeError(`playground must be a folder path or null, got ${JSON.stringify(dir)}`);
  const built = async () => dir !== null && (await readStaticFile(dir, '/')).status === 200;
  const notBuilt = () => {
    // the folder is the server's: the answer does not name it
    const where = dir === null ? 'this server was started without one' : 'its folder holds no index.html';
    return new HttpError(
      404,
      `the playground page is not built (${where}): run \`${PLAYGROUND_BUILD_COMMAND}\` in the amdm checkout, or give the server the folder of a built page (amdm serve --playground <dir>, createHandler's playground option)`,
    );
  };
  return async (request, path) => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw new HttpError(405, `${path} takes GET or HEAD, got ${request.method}`, { headers: { allow: 'GET, HEAD' } });
    if (dir === null) throw notBuilt();
    if (path === '/' || path === '/playground') {
      if (!(await built())) throw notBuilt();
      return new Response(null, { status: 302, headers: { location: 'playground/' } }); // relative: also right behind a path prefix
    }
    const got = await readStaticFile(dir, path.slice('/playground'.length));
    if (got.status === 404)
      throw (await built()) ? new HttpError(404, `the playground page has no file ${path}`) : notBuilt();
    if (got.status !== 200) throw new HttpError(got.status, `${path}: ${got.message}`, { field: 'path' });
    const headers = { 'content-type': got.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(got.body), { headers });
  };
}

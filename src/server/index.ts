/** amdm HTTP layer: the web-standard fetch handler (any runtime) and `listen` (Node and Deno, through srvx). */
export * from './handler.ts';
export * from './limits.ts';
export * from './listen.ts';
export { HttpError } from './errors.ts';
export { PLAYGROUND_BUILD, PLAYGROUND_BUILD_COMMAND } from './playground-page.ts';

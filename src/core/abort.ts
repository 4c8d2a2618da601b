/** Cancellation of long loops (samplers, batch runs) through an AbortSignal. */

/**
 * Throws the signal's reason when it is aborted; a reason that is not an Error becomes an
 * AbortError DOMException "<what> aborted". Does nothing otherwise.
 */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'sampling'): void {
  if (signal?.aborted)
    throw signal.reason instanceof Error ? signal.reason : new DOMException(`${what} aborted`, 'AbortError');
}

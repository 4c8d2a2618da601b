/**
 * onnxruntime-node (1.30, Linux and macOS builds) starts Microsoft's telemetry when it creates
 * its first session: it writes `mat-debug-<pid>.log` (and `.ses`) into the system temp folder and
 * never removes them, keeps a device id and an event database under
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, and looks up Microsoft's collector host.
 * The native library reads one switch, the environment variable `ORT_DISABLE_TELEMETRY`, and
 * any value but "0" or "" turns all of that off. Importing this module sets it to "1" unless the
 * user set it, so it must be imported before onnxruntime-node loads (session.ts imports it
 * first; test/setup.ts does for the tests that import the package directly). To opt in, start
 * the process with `ORT_DISABLE_TELEMETRY=0`.
 */
/** The environment variable onnxruntime reads. */
export const ORT_TELEMETRY_SWITCH = 'ORT_DISABLE_TELEMETRY';

/** Turns onnxruntime's telemetry off unless the environment already decides; returns the value in force. */
export function disableOrtTelemetry(): string | undefined {
  try {
    // globalThis: Node and Deno have `process`; a browser bundle has neither it nor the addon
    const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
    if (env === undefined) return undefined;
    if (env[ORT_TELEMETRY_SWITCH] === undefined) env[ORT_TELEMETRY_SWITCH] = '1';
    return env[ORT_TELEMETRY_SWITCH];
  } catch {
    return undefined; // no environment access (Deno without --allow-env): no native addon loads either
  }
}

disableOrtTelemetry();

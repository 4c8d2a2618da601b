// Tests that need more than `deno test --allow-read` (the core task) ask here: without the
// permissions they are ignored with a printed reason; `deno task test:serve` / `test:web` and
// CI (.ci/run) grant them.
export async function missingPermissions(names: readonly Deno.PermissionName[]): Promise<string | null> {
  const missing: string[] = [];
  for (const name of names) if ((await Deno.permissions.query({ name })).state !== 'granted') missing.push(`--allow-${name}`);
  return missing.length ? missing.join(' ') : null;
}

/** Deno.test options: ignored (with a line on stderr saying why) unless every permission is granted. */
export async function needs(file: string, names: readonly Deno.PermissionName[]): Promise<{ ignore: boolean }> {
  const missing = await missingPermissions(names);
  if (missing) console.error(`${file}: ignored, it needs ${missing}`);
  return { ignore: missing !== null };
}

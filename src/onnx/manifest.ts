/**
 * `amdm.json`: an optional file in a model folder that maps the ONNX input names of its UNet
 * graph(s) to roles, for exports whose inputs go beyond optimum's standard three
 * (InteractDiffusion boxes/masks/phrase embeddings, MIGC instance tensors, IP-Adapter tokens and
 * scale; sources M§3.4, M§4.5, M§5).
 *
 *   {
 *     "family": "interactdiffusion",                 // free text, optional
 *     "unet": {
 *       "file": "unet/model.onnx",                   // optional, this default
 *       "output": "out_sample",                      // optional
 *       "inputs": { "sample": "latent", "timestep": "timestep",
 *                   "encoder_hidden_states": "text", "subject_boxes": "subject_boxes", … }
 *     },
 *     "graphs": { "unet_migc": { "file": "unet_migc/model.onnx", "inputs": { … } } }
 *   }
 *
 * Roles: `latent`, `timestep` and `text` are required in every graph; `pooled_text`, `boxes`,
 * `masks`, `image_tokens`, `scale`, `switch` are the named extras; any other lower-case name
 * (`subject_boxes`, `sac_perm`, …) is a free-form extra role. Each role appears once per graph.
 */
import { z } from 'zod';
import { formatIssues } from './scheduler-config.ts';

export const REQUIRED_ROLES = ['latent', 'timestep', 'text'] as const;
export const KNOWN_ROLES = [
  ...REQUIRED_ROLES,
  'pooled_text',
  'boxes',
  'masks',
  'image_tokens',
  'scale',
  'switch',
] as const;
export type KnownRole = (typeof KNOWN_ROLES)[number];
/** A known role or a free-form extra role name. */
export type Role = KnownRole | (string & {});

/** optimum's standard UNet input names and their roles (used when there is no amdm.json). */
export const STANDARD_UNET_INPUTS: Readonly<Record<string, KnownRole>> = Object.freeze({
  sample: 'latent',
  timestep: 'timestep',
  encoder_hidden_states: 'text',
});

const role = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'a role is a lower-case name (letters, digits, _), e.g. "latent" or "subject_boxes"');

const relativeFile = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split(/[\\/]/).includes('..'), 'must be a path inside the model folder');

const graphEntry = z
  .strictObject({
    file: relativeFile.optional(),
    output: z.string().min(1).optional(),
    inputs: z.record(z.string().min(1), role),
  })
  .superRefine((g, ctx) => {
    const seen = new Map<string, string>();
    for (const [name, r] of Object.entries(g.inputs)) {
      const prev = seen.get(r);
      if (prev !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['inputs', name],
          message: `role "${r}" is already given to input "${prev}"`,
        });
      }
      seen.set(r, name);
    }
    for (const r of REQUIRED_ROLES) {
      if (!seen.has(r))
        ctx.addIssue({ code: 'custom', path: ['inputs'], message: `no input has the required role "${r}"` });
    }
  });

const manifestSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1).optional(),
  family: z.string().optional(),
  unet: graphEntry.optional(),
  graphs: z
    .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'graph names use letters, digits, _ . -'), graphEntry)
    .optional(),
});

export type GraphEntry = z.infer<typeof graphEntry>;
export type AmdmManifest = z.infer<typeof manifestSchema>;

/** Validate a parsed amdm.json; errors name the bad field (e.g. `unet.inputs.boxes`). */
export function parseManifest(json: unknown, file = 'amdm.json'): AmdmManifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) throw new RangeError(`${file}: ${formatIssues(r.error.issues)}`);
  return r.data;
}

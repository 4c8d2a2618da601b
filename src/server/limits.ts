/** What one request may ask of the server (each over-limit field is answered 400, the body 413). */
export interface ServerLimits {
  /** Request body (default 1 MiB). */
  bodyBytes: number;
  /** DDIM steps of a job or the demo (default 100). */
  steps: number;
  /** Samples per generate job (default 4). */
  batch: number;
  /** Image height and width in pixels, when a job gives them (default 1024). */
  imageSide: number;
  /** Models in one job (default 4). */
  models: number;
  /** Prompts × samples of one demo request (default 64). */
  demoSamples: number;
  /** Characters of a prompt, and of each text in a condition (default 4096). */
  promptChars: number;
}

export const DEFAULT_LIMITS: Readonly<ServerLimits> = Object.freeze({
  bodyBytes: 1 << 20,
  steps: 100,
  batch: 4,
  imageSide: 1024,
  models: 4,
  demoSamples: 64,
  promptChars: 4096,
});

/**
 * Prompt → CLIP text embeddings, as diffusers' `encode_prompt` for SD 1.x
 * (pipeline_stable_diffusion.py:287-355, sources M§6): `tokenizer(text,
 * padding="max_length", max_length=77, truncation=True)`, then the text encoder's
 * `last_hidden_state` [rows, 77, width] with no attention mask. The negative prompt is padded
 * to the same 77 tokens (`:436-438`).
 *
 * An encoder keeps the rows of texts it has encoded, so the same prompt and negative prompt
 * used by several models (one shared text encoder, M§6) run through the graph once.
 */
import type { TextEncoderModel } from '../onnx/model-folder.ts';
import { encodeTokenIds } from '../onnx/components.ts';
import type { ClipTokenizer } from './clip-tokenizer.ts';
import type { PromptEncoding } from './family.ts';

/** Token ids of `texts`, each padded/truncated to `length` (default: the tokenizer's maxLength), row-major. */
export function tokenizePrompts(
  tokenizer: ClipTokenizer,
  texts: readonly string[],
  length = tokenizer.maxLength,
): number[] {
  if (!Array.isArray(texts) || texts.length === 0) throw new TypeError('texts must be a non-empty array of strings');
  if (!Number.isInteger(length) || length < 2)
    throw new RangeError(`length must be an integer >= 2, got ${String(length)}`);
  const ids: number[] = [];
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw new TypeError(`texts[${i}] must be a string, got ${typeof t}`);
    const row = tokenizer.encode(t, { padding: 'max_length', truncation: true, maxLength: length });
    for (const id of row) ids.push(id);
  });
  return ids;
}

export interface PromptEncoder {
  /** Encode texts (cached per text); rows follow the order of `texts`. */
  encode(texts: readonly string[]): Promise<PromptEncoding>;
  /** How many times the text encoder graph ran. */
  readonly runs: number;
  readonly model: TextEncoderModel;
}

/**
 * An encoder over one text-encoder session and tokenizer. `length` is the token count per
 * text (default: the graph's fixed sequence dim, else the tokenizer's maxLength, 77 for SD).
 */
export function promptEncoder(model: TextEncoderModel, tokenizer: ClipTokenizer, length?: number): PromptEncoder {
  if (!model || typeof model !== 'object' || !model.session)
    throw new TypeError('model must be a TextEncoderModel (loadModelFolder(...).textEncoder)');
  if (!tokenizer || typeof tokenizer.encode !== 'function') throw new TypeError('tokenizer must be a ClipTokenizer');
  const declared = model.ids.shape[1];
  const L = length ?? (typeof declared === 'number' && declared > 0 ? declared : tokenizer.maxLength);
  if (!Number.isInteger(L) || L < 2) throw new RangeError(`length must be an integer >= 2, got ${String(L)}`);
  const D = model.width;
  const rows = new Map<string, { hidden: Float32Array; pooled: Float32Array | null }>();
  let runs = 0;
  return {
    model,
    get runs() {
      return runs;
    },
    async encode(texts) {
      if (!Array.isArray(texts) || texts.length === 0)
        throw new TypeError('texts must be a non-empty array of strings');
      const missing = [...new Set(texts.filter((t) => !rows.has(t)))];
      if (missing.length > 0) {
        const ids = tokenizePrompts(tokenizer, missing, L);
        const e = await encodeTokenIds(model, ids, missing.length);
        runs++;
        if (e.sequence !== L)
          throw new RangeError(`${model.file}: last_hidden_state has ${e.sequence} positions, expected ${L}`);
        missing.forEach((t, r) => {
          rows.set(t, {
            hidden: e.hidden.slice(r * L * D, (r + 1) * L * D),
            pooled: e.pooled ? e.pooled.slice(r * D, (r + 1) * D) : null,
          });
        });
      }
      const hidden = new Float32Array(texts.length * L * D);
      const hasPooled = rows.get(texts[0])!.pooled !== null;
      const pooled = hasPooled ? new Float32Array(texts.length * D) : null;
      texts.forEach((t, r) => {
        const row = rows.get(t)!;
        hidden.set(row.hidden, r * L * D);
        if (pooled && row.pooled) pooled.set(row.pooled, r * D);
      });
      return { hidden, pooled, rows: texts.length, length: L, width: D };
    },
  };
}

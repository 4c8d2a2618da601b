/**
 * Captions and phrases of MiniMIG scenes, in words, e.g.
 * "a red circle linked to a blue square and a green triangle on blue stripes".
 *
 * Grammar: one clause per relation ("a <subject> <action> a <object>", in relation order), then
 * every instance no relation mentions ("a <instance>", in index order), joined by " and ", then
 * the style (" on <tint> <texture word>", or " on plain <tint>"). The variants drop what a model
 * is not trained on:
 * - full: colours, actions and style (the base model);
 * - nocolour: no colour words on the instances (InteractDiffusion-mini's first training run; the tint stays);
 * - noaction: every instance once, in index order, with colours and the style (MIGC-mini);
 * - nostyle: no style words (IP-Adapter-mini, whose style comes from the reference image).
 */
import { checkOneOf } from '../../core/validate.ts';
import {
  ACTIONS,
  COLOURS,
  SHAPES,
  TEXTURE_WORDS,
  TINTS,
  validateScene,
  type Instance,
  type Scene,
  type Style,
} from './world.ts';

export const CAPTION_VARIANTS = Object.freeze(['full', 'nocolour', 'noaction', 'nostyle'] as const);
export type CaptionVariant = (typeof CAPTION_VARIANTS)[number];

/** "red circle" (withColour, the default) or "circle". */
export function instancePhrase(inst: Instance, opts: { withColour?: boolean } = {}): string {
  return (opts.withColour ?? true) ? `${inst.colour} ${inst.shape}` : inst.shape;
}

/** " on blue stripes", " on plain grey". */
export function stylePhrase(style: Style): string {
  return style.texture === 'plain' ? `on plain ${style.tint}` : `on ${style.tint} ${TEXTURE_WORDS[style.texture]}`;
}

/** The caption of `scene` in the given variant (default 'full'); see the module comment. */
export function caption(scene: Scene, variant: CaptionVariant = 'full'): string {
  validateScene(scene);
  checkOneOf('variant', variant, CAPTION_VARIANTS);
  const withColour = variant !== 'nocolour';
  const a = (i: number) => `a ${instancePhrase(scene.instances[i], { withColour })}`;
  const clauses: string[] = [];
  const mentioned = new Set<number>();
  if (variant !== 'noaction') {
    for (const r of scene.relations) {
      clauses.push(`${a(r.subject)} ${r.action} ${a(r.object)}`);
      mentioned.add(r.subject).add(r.object);
    }
  }
  scene.instances.forEach((_, i) => {
    if (!mentioned.has(i)) clauses.push(a(i));
  });
  const text = clauses.join(' and ');
  return variant === 'nostyle' ? text : `${text} ${stylePhrase(scene.style)}`;
}

/**
 * Every word a MiniMIG caption or phrase can contain (lower case, sorted). Captions are these
 * words joined by single spaces, so a tokenizer that agrees on each word agrees on every caption.
 */
export function worldWords(): string[] {
  const words = new Set<string>([
    'a',
    'and',
    'on',
    'plain',
    ...SHAPES,
    ...COLOURS,
    ...TINTS,
    ...Object.values(TEXTURE_WORDS),
  ]);
  for (const action of ACTIONS) for (const w of action.split(' ')) words.add(w);
  return [...words].sort();
}

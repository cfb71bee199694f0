// Chat templates and their encoding into ids and labels. A template renders a conversation to
// pieces: text that is trained on (assistant answers and their end token) or not (everything
// the model is given), and image slots. Encoding expands each image slot to a run of placeholder
// ids (the adapter puts visual tokens there) and labels every untrained token -100.
import { requireToken, type TextTokenizer } from './types';

export const IGNORE_INDEX = -100;
export const IMAGE_TAG = '<image>';
/** The placeholder of generated-image positions. */
export const GENERATION_TAG = '<|image_gen|>';

export type ChatPiece = { text: string; train: boolean } | { image: 'condition' | 'generation' };

export interface ChatTurn {
  /** The user's message; IMAGE_TAG marks where the condition image goes. */
  user: string;
  /** The answer, or a generated image (generation tasks). */
  assistant: string | { image: 'generation' };
}

export interface ChatTemplate {
  readonly name: string;
  render(turns: readonly ChatTurn[], ctx: { system?: string; eos: string }): ChatPiece[];
}

function userPieces(user: string): ChatPiece[] {
  const out: ChatPiece[] = [];
  user.split(IMAGE_TAG).forEach((part, i) => {
    if (i > 0) out.push({ image: 'condition' });
    if (part !== '') out.push({ text: part, train: false });
  });
  return out;
}

/** Qwen / ChatML: <|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n…<|im_end|>\n */
export const qwenTemplate: ChatTemplate = {
  name: 'qwen',
  render(turns, ctx) {
    const out: ChatPiece[] = [];
    if (ctx.system !== undefined) out.push({ text: `<|im_start|>system\n${ctx.system}<|im_end|>\n`, train: false });
    for (const t of turns) {
      out.push({ text: '<|im_start|>user\n', train: false }, ...userPieces(t.user));
      out.push({ text: '<|im_end|>\n<|im_start|>assistant\n', train: false });
      if (typeof t.assistant === 'string') out.push({ text: `${t.assistant}<|im_end|>`, train: true });
      else out.push({ image: 'generation' }, { text: '<|im_end|>', train: false });
      out.push({ text: '\n', train: false });
    }
    return out;
  },
};

/** No roles: user\nanswer<eos> per turn (small models trained from scratch). */
export const plainTemplate: ChatTemplate = {
  name: 'plain',
  render(turns, ctx) {
    const out: ChatPiece[] = [];
    if (ctx.system !== undefined) out.push({ text: `${ctx.system}\n`, train: false });
    for (const t of turns) {
      out.push(...userPieces(t.user), { text: '\n', train: false });
      if (typeof t.assistant === 'string') out.push({ text: `${t.assistant}${ctx.eos}`, train: true });
      else out.push({ image: 'generation' }, { text: ctx.eos, train: false });
    }
    return out;
  },
};

export const TEMPLATES: Record<string, ChatTemplate> = { qwen: qwenTemplate, plain: plainTemplate };

export function template(name: string | ChatTemplate): ChatTemplate {
  if (typeof name !== 'string') return name;
  const t = TEMPLATES[name];
  if (t === undefined) throw new RangeError(`unknown chat template '${name}' (expected ${Object.keys(TEMPLATES).join(', ')})`);
  return t;
}

export interface EncodeChatOptions {
  template?: string | ChatTemplate;
  system?: string;
  /** Placeholder token for condition-image positions (default '<image>'). */
  imageToken?: string;
  /** Placeholder token for generated-image positions (default '<|image_gen|>'). */
  generationToken?: string;
  /** Positions per condition image (the adapter's visual token count). Default 1. */
  conditionTokens?: number;
  /** Positions per generated image. Default 1. */
  generationTokens?: number;
}

export interface EncodedChat {
  ids: number[];
  /** The id to predict at each position's own index (shifting is the model's job), or -100. */
  labels: number[];
  /** 1 at condition-image placeholder positions. */
  conditionMask: Uint8Array;
  /** 1 at generated-image placeholder positions. */
  generationMask: Uint8Array;
}

export function encodeChat(tok: TextTokenizer, turns: readonly ChatTurn[], o: EncodeChatOptions = {}): EncodedChat {
  const tpl = template(o.template ?? 'qwen');
  const eos = tok.idToToken(tok.eosId) ?? '';
  const pieces = tpl.render(turns, { system: o.system, eos });
  const condN = o.conditionTokens ?? 1;
  const genN = o.generationTokens ?? 1;
  for (const [k, v] of [['conditionTokens', condN], ['generationTokens', genN]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  const ids: number[] = [];
  const labels: number[] = [];
  const cond: number[] = [];
  const gen: number[] = [];
  let condId: number | undefined;
  let genId: number | undefined;
  // Adjacent text pieces with the same training flag are encoded together.
  const merged: ChatPiece[] = [];
  for (const p of pieces) {
    const last = merged[merged.length - 1];
    if ('text' in p && last !== undefined && 'text' in last && last.train === p.train) merged[merged.length - 1] = { text: last.text + p.text, train: p.train };
    else merged.push(p);
  }
  for (const p of merged) {
    if ('text' in p) {
      const t = tok.encode(p.text);
      for (const id of t) { ids.push(id); labels.push(p.train ? id : IGNORE_INDEX); }
    } else if (p.image === 'condition') {
      condId ??= requireToken(tok, o.imageToken ?? IMAGE_TAG, 'condition-image placeholder');
      for (let i = 0; i < condN; i++) { cond.push(ids.length); ids.push(condId); labels.push(IGNORE_INDEX); }
    } else {
      genId ??= requireToken(tok, o.generationToken ?? GENERATION_TAG, 'generated-image placeholder');
      for (let i = 0; i < genN; i++) { gen.push(ids.length); ids.push(genId); labels.push(IGNORE_INDEX); }
    }
  }
  const conditionMask = new Uint8Array(ids.length);
  const generationMask = new Uint8Array(ids.length);
  for (const i of cond) conditionMask[i] = 1;
  for (const i of gen) generationMask[i] = 1;
  return { ids, labels, conditionMask, generationMask };
}

// Questions about a scene, in the categories of public benchmarks, each answer derived from the
// scene's geometry with a margin so that it holds in the rendered depth map and masks at every
// output size:
//   depth      (CV-Bench 3D)      "Which is closer to the camera, the red cube or the blue sphere?"
//   relation   (VSR, CV-Bench 2D) "Is the red cube to the left of the blue sphere?"
//   count      (CV-Bench)         "How many cubes are there?"
//   attribute                     "What color is the cone?" / "What shape is the green object?"
//   existence  (POPE)             "Is there a purple cylinder in the image?" (balanced yes / no)
//   occlusion                     "Is the green cone partly hidden?"
// Answers are one word or a number. Objects are named by colour and shape, unique per scene.
import { Rng } from '../rng';
import { type Layout, range, type SceneObject } from './layout';
import { screenBox } from './render';
import type { Split } from './splits';
import { type Color, COLORS, describe, HELD_OUT_PAIRS, isHeldOut, PLURAL, type Shape, SHAPES } from './vocabulary';

export type QACategory = 'depth' | 'relation' | 'count' | 'attribute' | 'existence' | 'occlusion';
export const QA_CATEGORIES: readonly QACategory[] = ['depth', 'relation', 'count', 'attribute', 'existence', 'occlusion'];

export interface QA {
  question: string;
  answer: string;
  category: QACategory;
  /** Ids of the scene objects the question names (empty for absent objects and plain counts). */
  refs: number[];
  /** True when the question names a held-out colour–shape pair (compositional split only). */
  heldOut: boolean;
}

/** Image-space margins (fractions of the image) for left/right and above/below. */
export const RELATION_MARGIN = 0.1;
/** An object counts as partly hidden when less than this fraction of it is visible. */
export const OCCLUDED_BELOW = 0.85;

export interface ObjectFacts {
  object: SceneObject;
  name: string;
  /** Camera to bounding-sphere centre, and that sphere's radius. */
  distance: number;
  radius: number;
  /** Centroid of the visible pixels in the reference render, image fractions [u, v]. */
  centroid: [number, number];
  /** Visible pixels / pixels the object covers alone, in the reference render. */
  visibleFraction: number;
  /** Projected bounding box of the object's world box (image fractions). */
  box: { u0: number; v0: number; u1: number; v1: number };
}

export function objectFacts(l: Layout): ObjectFacts[] {
  const ref = l.reference;
  return l.spec.objects.map((o) => {
    const { distance, radius } = range(o, l.spec.camera);
    const v = ref.visible[o.id];
    return {
      object: o, name: describe(o), distance, radius,
      centroid: [ref.sumCol[o.id] / v / ref.size, ref.sumRow[o.id] / v / ref.size],
      visibleFraction: v / ref.area[o.id],
      box: screenBox(l.spec.camera, o),
    };
  });
}

/** Every surface point of a is nearer the camera than every surface point of b. */
const wholeCloser = (a: ObjectFacts, b: ObjectFacts) => a.distance + a.radius < b.distance - b.radius;

/** The one word telling two named objects apart: the shape if they differ, else the colour. */
function distinguishing(x: SceneObject, other: SceneObject): string {
  return x.shape !== other.shape ? x.shape : x.color;
}

const boxesOverlap = (a: ObjectFacts['box'], b: ObjectFacts['box']) =>
  a.u0 < b.u1 && b.u0 < a.u1 && a.v0 < b.v1 && b.v0 < a.v1;

interface Ctx {
  rng: Rng;
  split: Split;
  facts: ObjectFacts[];
  perCategory: number;
}

function qa(category: QACategory, question: string, answer: string, refs: ObjectFacts[], extraHeldOut = false): QA {
  return {
    question, answer, category, refs: refs.map((f) => f.object.id),
    heldOut: extraHeldOut || refs.some((f) => isHeldOut(f.object.color, f.object.shape)),
  };
}

/** Candidates naming a held-out object first in the compositional split, shuffled otherwise. */
function ordered<T>(ctx: Ctx, xs: T[], objectsOf: (x: T) => ObjectFacts[]): T[] {
  const s = ctx.rng.shuffled(xs);
  if (ctx.split !== 'compositional') return s;
  const held = (x: T) => objectsOf(x).some((f) => isHeldOut(f.object.color, f.object.shape));
  return [...s.filter(held), ...s.filter((x) => !held(x))];
}

function pairs(ctx: Ctx): [ObjectFacts, ObjectFacts][] {
  const out: [ObjectFacts, ObjectFacts][] = [];
  for (const a of ctx.facts) for (const b of ctx.facts) if (a !== b) out.push([a, b]);
  return out;
}

function depthQuestions(ctx: Ctx): QA[] {
  const cands = ordered(ctx, pairs(ctx).filter(([a, b]) => wholeCloser(a, b)), (p) => p);
  const out: QA[] = [];
  const seen = new Set<string>();
  for (const [near, far] of cands) {
    if (out.length >= ctx.perCategory) break;
    const key = [near.object.id, far.object.id].sort().join();
    if (seen.has(key)) continue;
    seen.add(key);
    const [x, y] = ctx.rng.chance(0.5) ? [near, far] : [far, near];
    const form = ctx.rng.int(0, 2);
    if (form === 0) {
      out.push(qa('depth', `Which is closer to the camera, the ${x.name} or the ${y.name}?`, distinguishing(near.object, far.object), [x, y]));
    } else if (form === 1) {
      out.push(qa('depth', `Which is farther from the camera, the ${x.name} or the ${y.name}?`, distinguishing(far.object, near.object), [x, y]));
    } else {
      out.push(qa('depth', `Is the ${x.name} closer to the camera than the ${y.name}?`, x === near ? 'yes' : 'no', [x, y]));
    }
  }
  return out;
}

type Relation = 'left of' | 'right of' | 'above' | 'below';

/** The truth of "a is <rel> b" by centroids, or undefined when within the margin. */
export function relationHolds(rel: Relation, a: [number, number], b: [number, number], margin = RELATION_MARGIN): boolean | undefined {
  const du = a[0] - b[0], dv = a[1] - b[1];
  const horizontal = rel === 'left of' || rel === 'right of';
  const d = horizontal ? du : dv;
  if (Math.abs(d) <= margin) return undefined;
  return rel === 'left of' || rel === 'above' ? d < 0 : d > 0;
}

function relationQuestions(ctx: Ctx): QA[] {
  const out: QA[] = [];
  const rels: Relation[] = ['left of', 'right of', 'above', 'below'];
  const cands = ordered(ctx, pairs(ctx), (p) => p);
  let wantYes = ctx.rng.chance(0.5);
  for (const [a, b] of cands) {
    if (out.length >= ctx.perCategory) break;
    const options = ctx.rng.shuffled(rels).filter((r) => relationHolds(r, a.centroid, b.centroid) === wantYes);
    if (options.length === 0) continue;
    const rel = options[0];
    const phrase = rel === 'left of' || rel === 'right of' ? `to the ${rel}` : `${rel}`;
    const suffix = rel === 'above' || rel === 'below' ? ' in the image' : '';
    out.push(qa('relation', `Is the ${a.name} ${phrase} the ${b.name}${suffix}?`, wantYes ? 'yes' : 'no', [a, b]));
    wantYes = !wantYes;
  }
  return out;
}

function countQuestions(ctx: Ctx): QA[] {
  const kinds: (() => QA)[] = [
    () => qa('count', 'How many objects are there?', String(ctx.facts.length), []),
    ...SHAPES.map((s: Shape) => () => {
      const refs = ctx.facts.filter((f) => f.object.shape === s);
      return qa('count', `How many ${PLURAL[s]} are there?`, String(refs.length), refs);
    }),
    ...COLORS.map((c: Color) => () => {
      const refs = ctx.facts.filter((f) => f.object.color === c);
      return qa('count', `How many ${c} objects are there?`, String(refs.length), refs);
    }),
  ];
  const all = kinds.map((k) => k());
  // Mostly questions about things in the scene; a zero answer now and then.
  const nonzero = ordered(ctx, all.filter((q) => q.answer !== '0'), (q) => ctx.facts.filter((f) => q.refs.includes(f.object.id)));
  const zero = ctx.rng.shuffled(all.filter((q) => q.answer === '0'));
  const out: QA[] = [];
  for (const q of nonzero) {
    if (out.length >= ctx.perCategory) break;
    if (zero.length > 0 && out.length > 0 && ctx.rng.chance(0.2)) out.push(zero.shift()!);
    else out.push(q);
  }
  return out.slice(0, ctx.perCategory);
}

function attributeQuestions(ctx: Ctx): QA[] {
  const cands: QA[] = [];
  for (const f of ctx.facts) {
    const o = f.object;
    if (ctx.facts.filter((g) => g.object.shape === o.shape).length === 1) {
      cands.push(qa('attribute', `What color is the ${o.shape}?`, o.color, [f]));
    }
    if (ctx.facts.filter((g) => g.object.color === o.color).length === 1) {
      cands.push(qa('attribute', `What shape is the ${o.color} object?`, o.shape, [f]));
    }
  }
  return ordered(ctx, cands, (q) => ctx.facts.filter((f) => q.refs.includes(f.object.id))).slice(0, ctx.perCategory);
}

function existenceQuestions(ctx: Ctx): QA[] {
  // POPE-style: as many "no" as "yes"; half of the absent objects are adversarial (they share a
  // colour or a shape with something present).
  const k = Math.max(1, Math.floor(ctx.perCategory / 2));
  const present = ordered(ctx, ctx.facts.slice(), (f) => [f]);
  const has = (c: Color, s: Shape) => ctx.facts.some((f) => f.object.color === c && f.object.shape === s);
  const absent: [Color, Shape][] = [];
  for (const c of COLORS) {
    for (const s of SHAPES) {
      if (has(c, s)) continue;
      if (ctx.split !== 'compositional' && isHeldOut(c, s)) continue; // never named in training splits
      absent.push([c, s]);
    }
  }
  const near = (p: [Color, Shape]) => ctx.facts.some((f) => f.object.color === p[0] || f.object.shape === p[1]);
  let adversarial = ctx.rng.shuffled(absent.filter(near));
  let random = ctx.rng.shuffled(absent);
  if (ctx.split === 'compositional') {
    const held = (p: [Color, Shape]) => HELD_OUT_PAIRS.some(([c, s]) => c === p[0] && s === p[1]);
    adversarial = [...adversarial.filter(held), ...adversarial.filter((p) => !held(p))];
    random = [...random.filter(held), ...random.filter((p) => !held(p))];
  }
  const yes = present.slice(0, k).map((f) => qa('existence', `Is there a ${f.name} in the image?`, 'yes', [f]));
  const no: QA[] = [];
  const used = new Set<string>();
  for (let i = 0; no.length < yes.length && (adversarial.length > 0 || random.length > 0); i++) {
    const src = (i % 2 === 0 && adversarial.length > 0) || random.length === 0 ? adversarial : random;
    const p = src.shift()!;
    const key = `${p[0]} ${p[1]}`;
    if (used.has(key)) continue;
    used.add(key);
    no.push(qa('existence', `Is there a ${key} in the image?`, 'no', [], isHeldOut(p[0], p[1])));
  }
  const n = Math.min(yes.length, no.length);
  const out: QA[] = [];
  for (let i = 0; i < n; i++) out.push(...(ctx.rng.chance(0.5) ? [yes[i], no[i]] : [no[i], yes[i]]));
  return out;
}

function occlusionQuestions(ctx: Ctx): QA[] {
  const k = Math.max(1, Math.floor(ctx.perCategory / 2));
  const hidden = ordered(ctx, ctx.facts.filter((f) => f.visibleFraction < OCCLUDED_BELOW), (f) => [f]);
  // "no" only where no other object's projected box even touches this one's: certainly whole.
  const whole = ordered(ctx, ctx.facts.filter((f) => ctx.facts.every((g) => g === f || !boxesOverlap(f.box, g.box))), (f) => [f]);
  const n = Math.min(k, hidden.length, whole.length);
  const out: QA[] = [];
  for (let i = 0; i < n; i++) {
    const y = qa('occlusion', `Is the ${hidden[i].name} partly hidden?`, 'yes', [hidden[i]]);
    const w = qa('occlusion', `Is the ${whole[i].name} partly hidden?`, 'no', [whole[i]]);
    out.push(...(ctx.rng.chance(0.5) ? [y, w] : [w, y]));
  }
  return out;
}

export interface QAOptions {
  /** Questions per category (binary categories keep yes and no balanced within it). Default 2. */
  perCategory?: number;
  /** Categories to ask, default all. */
  categories?: readonly QACategory[];
}

const MAKERS: Record<QACategory, (ctx: Ctx) => QA[]> = {
  depth: depthQuestions,
  relation: relationQuestions,
  count: countQuestions,
  attribute: attributeQuestions,
  existence: existenceQuestions,
  occlusion: occlusionQuestions,
};

export function questions(l: Layout, facts: ObjectFacts[], opts: QAOptions = {}): QA[] {
  const perCategory = opts.perCategory ?? 2;
  if (!Number.isInteger(perCategory) || perCategory < 1) throw new RangeError(`perCategory must be a positive integer, got ${perCategory}`);
  const out: QA[] = [];
  for (const c of opts.categories ?? QA_CATEGORIES) {
    const make = MAKERS[c];
    if (make === undefined) throw new RangeError(`unknown question category '${c}' (expected one of ${QA_CATEGORIES.join(', ')})`);
    // One stream per category: asking fewer categories leaves the others' questions unchanged.
    const rng = new Rng(l.spec.seed, 0x9a, QA_CATEGORIES.indexOf(c), perCategory);
    out.push(...make({ rng, split: l.spec.split, facts, perCategory }));
  }
  return out;
}

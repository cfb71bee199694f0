// Scene layouts: camera, light and 2–8 objects standing on the ground, deterministic by seed.
// A layout is accepted when every object lies inside the frame, no two footprints touch, and a
// reference render shows at least MIN_VISIBLE of every object (so every object can be seen,
// counted and asked about at any output size).
import { Rng } from '../rng';
import { type Camera, groundDistanceAt } from './camera';
import { boundingSphere, footprint } from './primitives';
import { render, type Rendered, type RenderObject, screenBox } from './render';
import { type Split, splitOf } from './splits';
import { type Color, COLORS, HELD_OUT_PAIRS, isHeldOut, RADIUS, type Shape, SHAPES, type Size, SIZES } from './vocabulary';

export interface SceneObject extends RenderObject {
  size: Size;
}

export interface SceneSpec {
  seed: number;
  split: Split;
  camera: Camera;
  light: readonly [number, number, number];
  objects: SceneObject[];
}

/** Resolution of the reference render that checks visibility and answers image-space questions. */
export const REFERENCE_SIZE = 128;
/** Least visible fraction of every object, and least visible pixels at the reference size. */
export const MIN_VISIBLE = 0.35;
export const MIN_PIXELS = 30;
const FRAME_MARGIN = 0.02;
const GAP = 0.3;

const HALF_FOV = (24 * Math.PI) / 180;

export function allowedPairs(split: Split): [Color, Shape][] {
  const out: [Color, Shape][] = [];
  for (const c of COLORS) for (const s of SHAPES) if (split === 'compositional' || !isHeldOut(c, s)) out.push([c, s]);
  return out;
}

function sampleCamera(rng: Rng): Camera {
  const height = rng.uniform(3.0, 3.8);
  const top = (rng.uniform(8, 11) * Math.PI) / 180; // angle of the top row below the horizon
  return { height, pitch: top + HALF_FOV, tanHalfFov: Math.tan(HALF_FOV) };
}

function sampleLight(rng: Rng): [number, number, number] {
  const x = rng.uniform(-0.8, -0.2), y = 1, z = rng.uniform(-0.7, -0.2);
  const inv = 1 / Math.hypot(x, y, z);
  return [x * inv, y * inv, z * inv];
}

function inFrame(cam: Camera, o: SceneObject): boolean {
  const b = screenBox(cam, o);
  return b.u0 >= FRAME_MARGIN && b.v0 >= FRAME_MARGIN && b.u1 <= 1 - FRAME_MARGIN && b.v1 <= 1 - FRAME_MARGIN;
}

function place(rng: Rng, cam: Camera, split: Split, count: number): SceneObject[] {
  const pairs = allowedPairs(split);
  const objects: SceneObject[] = [];
  const used = new Set<string>();
  const zNear = groundDistanceAt(cam, 0.97) + 0.8;
  const zFar = Math.min(13, groundDistanceAt(cam, 0.2));
  for (let k = 0; k < count; k++) {
    // Compositional scenes start with a held-out pair; colour–shape pairs are unique per scene,
    // so "the red cube" always names one object.
    let pair: [Color, Shape];
    const free = pairs.filter(([c, s]) => !used.has(`${c} ${s}`));
    if (split === 'compositional' && k === 0) pair = rng.pick(HELD_OUT_PAIRS) as [Color, Shape];
    else pair = rng.pick(free);
    const size = rng.pick(SIZES);
    const r = RADIUS[size];
    let placed: SceneObject | undefined;
    for (let attempt = 0; attempt < 60 && placed === undefined; attempt++) {
      const z = rng.uniform(zNear, zFar);
      const zc = cam.height * Math.sin(cam.pitch) + z * Math.cos(cam.pitch);
      const half = 0.9 * zc * cam.tanHalfFov;
      const o: SceneObject = {
        id: objects.length + 1, shape: pair[1], color: pair[0], size, r,
        x: rng.uniform(-half, half), z, yaw: rng.uniform(0, Math.PI / 2),
      };
      if (!inFrame(cam, o)) continue;
      const clash = objects.some((q) => Math.hypot(q.x - o.x, q.z - o.z) < footprint(q) + footprint(o) + GAP);
      if (!clash) placed = o;
    }
    if (placed === undefined) continue; // no room: the scene gets fewer objects
    objects.push(placed);
    used.add(`${pair[0]} ${pair[1]}`);
  }
  return objects;
}

function wellVisible(r: Rendered, objects: readonly SceneObject[]): boolean {
  return objects.every((o) => r.visible[o.id] >= MIN_PIXELS && r.visible[o.id] >= MIN_VISIBLE * r.area[o.id]);
}

export interface Layout {
  spec: SceneSpec;
  /** The reference render (REFERENCE_SIZE) the layout was accepted with. */
  reference: Rendered;
}

/** The scene of a seed; its split follows from the seed (see splits.ts). */
export function layout(seed: number): Layout {
  const split = splitOf(seed);
  for (let attempt = 0; ; attempt++) {
    const rng = new Rng(seed, 0x5ce7e, attempt);
    const camera = sampleCamera(rng);
    const light = sampleLight(rng);
    const want = rng.int(2, 8);
    let objects = place(rng, camera, split, want);
    if (objects.length < 2) continue;
    const spec: SceneSpec = { seed, split, camera, light, objects };
    let ref = render(spec, REFERENCE_SIZE);
    if (wellVisible(ref, objects)) return { spec, reference: ref };
    if (attempt < 40) continue;
    // Rarely needed: drop the least visible objects (never the compositional first one).
    while (objects.length > 2 && !wellVisible(ref, objects)) {
      let worst = split === 'compositional' ? 1 : 0;
      for (let i = worst; i < objects.length; i++) {
        const f = (o: SceneObject) => ref.visible[o.id] / Math.max(1, ref.area[o.id]);
        if (f(objects[i]) < f(objects[worst])) worst = i;
      }
      objects = objects.filter((_, i) => i !== worst).map((o, i) => ({ ...o, id: i + 1 }));
      spec.objects = objects;
      ref = render(spec, REFERENCE_SIZE);
    }
    if (wellVisible(ref, objects)) return { spec, reference: ref };
  }
}

/** Camera-to-centre distance and bounding radius of an object (for unambiguous depth order). */
export function range(o: SceneObject, cam: Camera): { distance: number; radius: number } {
  const s = boundingSphere(o);
  return { distance: Math.hypot(o.x, s.cy - cam.height, o.z), radius: s.radius };
}

// The renderer: one ray per pixel centre, a z-buffer in typed arrays. The ground plane fills the
// frame; each object then overwrites the pixels of its projected bounding box where its exact
// ray intersection is nearer than what the buffer holds. Depth is the Euclidean distance from
// the camera centre to the visible surface; instance ids are 0 for the ground, k for object k.
import { basis, type Camera, project, rayDir } from './camera';
import { boundingSphere, footprint, intersect, type Solid } from './primitives';
import { type Color, RGB } from './vocabulary';

export interface RenderObject extends Solid {
  id: number;
  color: Color;
}

export interface RenderInput {
  camera: Camera;
  /** Unit vector towards the light. */
  light: readonly [number, number, number];
  objects: readonly RenderObject[];
}

export interface Rendered {
  size: number;
  /** Planar RGB [3, size, size]. */
  image: Uint8Array;
  /** [size, size], distance to the camera. */
  depth: Float32Array;
  /** [size, size], 0 = ground, k = object k. */
  ids: Int32Array;
  /** Per object id (index = id, entry 0 unused): pixels the object covers when alone. */
  area: Int32Array;
  /** Per object id: pixels where it is visible. */
  visible: Int32Array;
  /** Per object id: sums of visible pixel-centre columns and rows (centroid = sum / visible). */
  sumCol: Float64Array;
  sumRow: Float64Array;
}

const AMBIENT = 0.35;
const DIFFUSE = 1 - AMBIENT;
const GROUND: readonly [number, number, number] = [158, 154, 146];
const CHECKER = 12;
/** Ground brightness in an object's (hard) shadow. */
const SHADOW = 0.62;

/** Projected bounding box of a solid's axis-aligned world box, as image fractions. */
export function screenBox(cam: Camera, s: Solid): { u0: number; v0: number; u1: number; v1: number } {
  const b = basis(cam);
  const f = footprint(s);
  let u0 = Infinity, v0 = Infinity, u1 = -Infinity, v1 = -Infinity;
  for (const x of [s.x - f, s.x + f]) {
    for (const y of [0, 2 * s.r]) {
      for (const z of [s.z - f, s.z + f]) {
        const p = project(cam, b, x, y, z);
        if (p.zc <= 0) return { u0: -Infinity, v0: -Infinity, u1: Infinity, v1: Infinity };
        u0 = Math.min(u0, p.u); u1 = Math.max(u1, p.u);
        v0 = Math.min(v0, p.v); v1 = Math.max(v1, p.v);
      }
    }
  }
  return { u0, v0, u1, v1 };
}

export function render(scene: RenderInput, size: number): Rendered {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`render size must be a positive integer, got ${size}`);
  const cam = scene.camera;
  const b = basis(cam);
  const n = size * size;
  const image = new Uint8Array(3 * n);
  const depth = new Float32Array(n);
  const zbuf = new Float64Array(n); // the z-buffer itself, in float64 (depth is its float32 copy)
  const ids = new Int32Array(n);
  const maxId = scene.objects.reduce((m, o) => Math.max(m, o.id), 0);
  const area = new Int32Array(maxId + 1);
  const dirs = new Float64Array(3 * n);
  const d = new Float64Array(3);
  const h = cam.height;
  const [lx, ly, lz] = scene.light;

  // Ground: every ray points below the horizon (the camera's pitch guarantees it). Hard
  // shadows: a ground point is dark when its ray towards the light meets an object.
  const spheres = scene.objects.map((o) => ({ o, ...boundingSphere(o) }));
  const sn = new Float64Array(3);
  for (let row = 0, p = 0; row < size; row++) {
    for (let col = 0; col < size; col++, p++) {
      rayDir(cam, b, size, col + 0.5, row + 0.5, d);
      dirs[3 * p] = d[0]; dirs[3 * p + 1] = d[1]; dirs[3 * p + 2] = d[2];
      const t = d[1] < 0 ? h / -d[1] : 1e6;
      zbuf[p] = t;
      const gx = d[0] * t, gz = d[2] * t;
      const fade = Math.max(0, 1 - t / 30); // checker contrast fades with distance (less aliasing)
      const sgn = ((Math.floor(gx) + Math.floor(gz)) & 1) === 0 ? 1 : -1;
      const shade = sgn * CHECKER * fade;
      let lit = 1;
      for (const q of spheres) {
        // Distance from the bounding-sphere centre to the shadow ray; exact test only if close.
        const vx = q.o.x - gx, vy = q.cy, vz = q.o.z - gz;
        const along = vx * lx + vy * ly + vz * lz;
        if (along <= 0) continue;
        const d2 = vx * vx + vy * vy + vz * vz - along * along;
        if (d2 > q.radius * q.radius) continue;
        if (intersect(q.o, gx, 0, gz, lx, ly, lz, sn) !== Infinity) { lit = SHADOW; break; }
      }
      for (let c = 0; c < 3; c++) image[c * n + p] = Math.round((GROUND[c] + shade) * lit);
    }
  }

  const nrm = new Float64Array(3);
  for (const o of scene.objects) {
    const box = screenBox(cam, o);
    const c0 = Math.max(0, Math.floor(box.u0 * size) - 1), c1 = Math.min(size - 1, Math.ceil(box.u1 * size));
    const r0 = Math.max(0, Math.floor(box.v0 * size) - 1), r1 = Math.min(size - 1, Math.ceil(box.v1 * size));
    const rgb = RGB[o.color];
    for (let row = r0; row <= r1; row++) {
      for (let col = c0; col <= c1; col++) {
        const p = row * size + col;
        const t = intersect(o, 0, h, 0, dirs[3 * p], dirs[3 * p + 1], dirs[3 * p + 2], nrm);
        if (t === Infinity) continue;
        area[o.id]++;
        if (t >= zbuf[p]) continue;
        zbuf[p] = t;
        ids[p] = o.id;
        const lambert = Math.max(0, nrm[0] * lx + nrm[1] * ly + nrm[2] * lz);
        const k = AMBIENT + DIFFUSE * lambert;
        for (let c = 0; c < 3; c++) image[c * n + p] = Math.round(rgb[c] * k);
      }
    }
  }

  const visible = new Int32Array(maxId + 1);
  const sumCol = new Float64Array(maxId + 1);
  const sumRow = new Float64Array(maxId + 1);
  for (let row = 0, p = 0; row < size; row++) {
    for (let col = 0; col < size; col++, p++) {
      depth[p] = zbuf[p];
      const id = ids[p];
      if (id > 0) { visible[id]++; sumCol[id] += col + 0.5; sumRow[id] += row + 0.5; }
    }
  }
  return { size, image, depth, ids, area, visible, sumCol, sumRow };
}

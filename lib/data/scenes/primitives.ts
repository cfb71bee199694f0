// Exact ray intersections with the four shapes, all resting on the ground plane y = 0:
// cube (rotated about the vertical axis), sphere, cylinder and cone (vertical axes, height 2r).
// Each returns the distance along a unit ray (Infinity for a miss) and writes the unit surface
// normal to `n`. Rays start at the camera, which is above every object.
import type { Shape } from './vocabulary';

export interface Solid {
  shape: Shape;
  /** Centre of the footprint on the ground. */
  x: number;
  z: number;
  /** Half-extent (cube half side, radius); the height is 2 * r. */
  r: number;
  /** Rotation about the vertical axis, radians (cubes only). */
  yaw: number;
}

const EPS = 1e-9;

export function intersect(s: Solid, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, n: Float64Array): number {
  switch (s.shape) {
    case 'sphere': return sphere(s, ox, oy, oz, dx, dy, dz, n);
    case 'cube': return cube(s, ox, oy, oz, dx, dy, dz, n);
    case 'cylinder': return cylinder(s, ox, oy, oz, dx, dy, dz, n);
    case 'cone': return cone(s, ox, oy, oz, dx, dy, dz, n);
    default: throw new Error(`unknown shape ${(s as Solid).shape}`);
  }
}

function sphere(s: Solid, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, n: Float64Array): number {
  const cx = ox - s.x, cy = oy - s.r, cz = oz - s.z;
  const b = cx * dx + cy * dy + cz * dz;
  const c = cx * cx + cy * cy + cz * cz - s.r * s.r;
  const disc = b * b - c;
  if (disc < 0) return Infinity;
  const t = -b - Math.sqrt(disc);
  if (t <= EPS) return Infinity;
  n[0] = (cx + t * dx) / s.r; n[1] = (cy + t * dy) / s.r; n[2] = (cz + t * dz) / s.r;
  return t;
}

function cube(s: Solid, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, n: Float64Array): number {
  const c = Math.cos(s.yaw), si = Math.sin(s.yaw);
  // World -> local: rotate by -yaw about y, centre at (x, r, z). Slab test on each local axis
  // (scalars, no arrays: this runs once per pixel of the object's box).
  const px = ox - s.x, py = oy - s.r, pz = oz - s.z;
  const l0x = c * px + si * pz, l0z = -si * px + c * pz;
  const ldx = c * dx + si * dz, ldz = -si * dx + c * dz;
  const r = s.r;
  let tNear = -Infinity, tFar = Infinity, axis = -1, sign = 0;
  for (let k = 0; k < 3; k++) {
    const lo = k === 0 ? l0x : k === 1 ? py : l0z;
    const ld = k === 0 ? ldx : k === 1 ? dy : ldz;
    if (Math.abs(ld) < 1e-15) {
      if (lo < -r || lo > r) return Infinity;
      continue;
    }
    let t1 = (-r - lo) / ld;
    let t2 = (r - lo) / ld;
    let sg = -1;
    if (t1 > t2) { const t = t1; t1 = t2; t2 = t; sg = 1; }
    if (t1 > tNear) { tNear = t1; axis = k; sign = sg; }
    if (t2 < tFar) tFar = t2;
    if (tNear > tFar) return Infinity;
  }
  if (tNear <= EPS || axis < 0) return Infinity;
  // Local normal along `axis` with `sign`, back to world (rotate by +yaw).
  const lx = axis === 0 ? sign : 0, ly = axis === 1 ? sign : 0, lz = axis === 2 ? sign : 0;
  n[0] = c * lx - si * lz;
  n[1] = ly;
  n[2] = si * lx + c * lz;
  return tNear;
}

function cylinder(s: Solid, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, n: Float64Array): number {
  const h = 2 * s.r;
  const px = ox - s.x, pz = oz - s.z;
  let best = Infinity;
  const a = dx * dx + dz * dz;
  if (a > 1e-15) {
    const b = px * dx + pz * dz;
    const c = px * px + pz * pz - s.r * s.r;
    const disc = b * b - a * c;
    if (disc >= 0) {
      const t = (-b - Math.sqrt(disc)) / a;
      const y = oy + t * dy;
      if (t > EPS && y >= 0 && y <= h) {
        best = t;
        n[0] = (px + t * dx) / s.r; n[1] = 0; n[2] = (pz + t * dz) / s.r;
      }
    }
  }
  if (dy < 0) { // the top cap, seen from above
    const t = (h - oy) / dy;
    if (t > EPS && t < best) {
      const x = px + t * dx, z = pz + t * dz;
      if (x * x + z * z <= s.r * s.r) { best = t; n[0] = 0; n[1] = 1; n[2] = 0; }
    }
  }
  return best;
}

function cone(s: Solid, ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, n: Float64Array): number {
  // x'^2 + z'^2 = k^2 (h - y)^2 with apex at height h = 2r, base radius r at y = 0.
  const h = 2 * s.r;
  const k2 = (s.r / h) ** 2;
  const px = ox - s.x, pz = oz - s.z;
  const A = h - oy;
  const a = dx * dx + dz * dz - k2 * dy * dy;
  const b = 2 * (px * dx + pz * dz + k2 * A * dy);
  const c = px * px + pz * pz - k2 * A * A;
  // The (at most two) roots in increasing order, without an array.
  let t0: number, t1: number;
  if (Math.abs(a) < 1e-12) {
    if (Math.abs(b) <= 1e-15) return Infinity;
    t0 = -c / b; t1 = Infinity;
  } else {
    const disc = b * b - 4 * a * c;
    if (disc < 0) return Infinity;
    const q = Math.sqrt(disc);
    t0 = (-b - q) / (2 * a); t1 = (-b + q) / (2 * a);
    if (t0 > t1) { const t = t0; t0 = t1; t1 = t; }
  }
  for (let k = 0; k < 2; k++) {
    const t = k === 0 ? t0 : t1;
    if (t === Infinity || t <= EPS) continue;
    const y = oy + t * dy;
    if (y < 0 || y > h) continue; // outside the solid's height (or on the upper nappe)
    const x = px + t * dx, z = pz + t * dz;
    const gx = x, gy = k2 * (h - y), gz = z;
    const inv = 1 / Math.sqrt(gx * gx + gy * gy + gz * gz);
    n[0] = gx * inv; n[1] = gy * inv; n[2] = gz * inv;
    return t;
  }
  return Infinity;
}

/** Height of the solid's bounding-sphere centre above the ground and that sphere's radius. */
export function boundingSphere(s: Solid): { cy: number; radius: number } {
  switch (s.shape) {
    case 'sphere': return { cy: s.r, radius: s.r };
    case 'cube': return { cy: s.r, radius: s.r * Math.sqrt(3) };
    default: return { cy: s.r, radius: s.r * Math.SQRT2 }; // cylinder, cone: rim at (r, ±r) from the centre
  }
}

/** Radius of the footprint's bounding circle on the ground. */
export const footprint = (s: Solid): number => (s.shape === 'cube' ? s.r * Math.SQRT2 : s.r);

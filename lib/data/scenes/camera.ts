// A pinhole camera at (0, height, 0) looking along +z, pitched down so that even the top row of
// the image sees the ground (no sky: every pixel has a finite depth). Square images; pixel
// (col, row) covers [col, col+1) x [row, row+1) and its ray passes through its centre.

export interface Camera {
  /** Height of the eye above the ground plane y = 0. */
  height: number;
  /** Downward tilt of the optical axis, radians. */
  pitch: number;
  /** tan of half the field of view (same horizontally and vertically). */
  tanHalfFov: number;
}

export interface Basis {
  /** forward, up (camera frame); right is +x. */
  fy: number; fz: number;
  uy: number; uz: number;
}

export function basis(cam: Camera): Basis {
  const s = Math.sin(cam.pitch);
  const c = Math.cos(cam.pitch);
  return { fy: -s, fz: c, uy: c, uz: s };
}

/**
 * Unit ray direction through the point (col, row) in continuous pixel coordinates of a size x
 * size image, written to out[0..2].
 */
export function rayDir(cam: Camera, b: Basis, size: number, col: number, row: number, out: Float64Array): void {
  const xs = ((col / size) * 2 - 1) * cam.tanHalfFov;
  const ys = (1 - (row / size) * 2) * cam.tanHalfFov;
  const dx = xs;
  const dy = b.fy + ys * b.uy;
  const dz = b.fz + ys * b.uz;
  const inv = 1 / Math.sqrt(dx * dx + dy * dy + dz * dz);
  out[0] = dx * inv;
  out[1] = dy * inv;
  out[2] = dz * inv;
}

/**
 * Continuous pixel coordinates [col, row] of a world point, as fractions of the image size
 * (0..1 inside the frame), and its distance along the optical axis. Points behind the camera
 * give zc <= 0.
 */
export function project(cam: Camera, b: Basis, x: number, y: number, z: number): { u: number; v: number; zc: number } {
  const vy = y - cam.height;
  const zc = vy * b.fy + z * b.fz;
  const yc = vy * b.uy + z * b.uz;
  const xs = x / (zc * cam.tanHalfFov);
  const ys = yc / (zc * cam.tanHalfFov);
  return { u: (xs + 1) / 2, v: (1 - ys) / 2, zc };
}

/** Distance along the ground (z) seen by the ray through the vertical image fraction v. */
export function groundDistanceAt(cam: Camera, v: number): number {
  const ys = (1 - 2 * v) * cam.tanHalfFov;
  const angle = cam.pitch - Math.atan(ys); // below the horizon
  return cam.height / Math.tan(angle);
}

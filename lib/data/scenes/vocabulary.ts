// What a scene is made of: 8 colours (CLEVR's palette), 4 shapes, 2 sizes, and the colour–shape
// pairs held out of training for the compositional split.

export const COLORS = ['gray', 'red', 'blue', 'green', 'brown', 'purple', 'cyan', 'yellow'] as const;
export type Color = (typeof COLORS)[number];

/** sRGB of each colour at full light (CLEVR's values); shading only scales them down. */
export const RGB: Record<Color, readonly [number, number, number]> = {
  gray: [87, 87, 87],
  red: [173, 35, 35],
  blue: [42, 75, 215],
  green: [29, 105, 20],
  brown: [129, 74, 25],
  purple: [129, 38, 192],
  cyan: [41, 208, 208],
  yellow: [255, 238, 51],
};

export const SHAPES = ['cube', 'sphere', 'cylinder', 'cone'] as const;
export type Shape = (typeof SHAPES)[number];
export const PLURAL: Record<Shape, string> = { cube: 'cubes', sphere: 'spheres', cylinder: 'cylinders', cone: 'cones' };

export const SIZES = ['small', 'large'] as const;
export type Size = (typeof SIZES)[number];
/** Half-extent in world units: cube half side, sphere / cylinder / cone radius (height 2×). */
export const RADIUS: Record<Size, number> = { small: 0.4, large: 0.75 };

/**
 * Colour–shape pairs never seen in the train, val and test splits (neither in images nor in
 * questions); every scene of the compositional split holds at least one of them. Each colour
 * and each shape still appears in training with other partners.
 */
export const HELD_OUT_PAIRS: readonly (readonly [Color, Shape])[] = [
  ['red', 'cone'],
  ['blue', 'cylinder'],
  ['green', 'sphere'],
  ['yellow', 'cube'],
  ['purple', 'cylinder'],
  ['cyan', 'cone'],
];

export const isHeldOut = (color: Color, shape: Shape): boolean =>
  HELD_OUT_PAIRS.some(([c, s]) => c === color && s === shape);

/** "red cube" */
export const describe = (o: { color: Color; shape: Shape }): string => `${o.color} ${o.shape}`;

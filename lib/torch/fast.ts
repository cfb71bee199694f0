// Codes of the typed native fast paths (native/fast_ops.cc; the order is the contract).
export const U = {
  neg: 0, abs: 1, exp: 2, log: 3, log1p: 4, sqrt: 5, rsqrt: 6, sin: 7, cos: 8, tanh: 9, sigmoid: 10,
  relu: 11, silu: 12, square: 13, reciprocal: 14, detach: 15, sum: 16, mean: 17,
} as const;
export const B = { add: 0, sub: 1, mul: 2, div: 3, matmul: 4, mm: 5, bmm: 6 } as const;

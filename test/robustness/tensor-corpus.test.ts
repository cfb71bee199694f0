// A table of bad inputs over the tensor API and the fused losses: each row must fail with the
// given error class and a message that names what is wrong (the op, the argument, the value),
// leave no tensor behind, and leave the process working. Found by a hostile trial (issue #15):
// BigInts that wrapped, item() that rounded, misleading messages, double backward, negative
// denominators and masks.
import { torch, Tensor, TorchError } from '../../lib';
import type { Device, DType } from '../../lib';
import { multitaskCrossEntropy, multitaskLinearCrossEntropy } from '../../lib/losses/cross-entropy';
import { multitaskDiffusionLoss } from '../../lib/losses/diffusion';

interface Row {
  name: string;
  fn: () => unknown;
  expect: { error: new (...args: never[]) => Error; message: RegExp };
}

const torchError = (message: RegExp) => ({ error: TorchError, message });
const any = <T>(v: unknown) => v as T; // passes what the types forbid, as plain JS callers can

/** A tensor that has been disposed. */
function disposed(): Tensor {
  const t = torch.ones([2, 2]);
  t.dispose();
  return t;
}

/** Runs the loss, backward once (no retainGraph), then backward again: the second must fail. */
function backwardTwice(loss: () => Tensor): void {
  const l = loss();
  l.backward();
  l.backward();
}

const leaf = (shape: number[], dtype: DType = 'float32') => torch.randn(shape, { dtype, requiresGrad: true });
const ids = (xs: number[]) => torch.tensor(xs.map(BigInt));
const complex = () => torch.ops.aten.view_as_complex(torch.ones([2, 2])) as Tensor;

const tensorApi: Row[] = [
  // wrong types
  { name: "matmul('str')", fn: () => torch.ones([2, 2]).matmul(any('str')), expect: torchError(/^matmul: argument 'other' must be a Tensor, got a string \("str"\)/) },
  { name: 'mm({})', fn: () => torch.ones([2, 2]).mm(any({})), expect: torchError(/^mm: argument 'other' must be a Tensor, got an object \(Object\)/) },
  { name: 'add(null)', fn: () => torch.ones([2]).add(any(null)), expect: torchError(/^add: argument 'other' must be a Tensor or a number, got null/) },
  { name: "add('x')", fn: () => torch.ones([2]).add(any('x')), expect: torchError(/argument 'other' \(Scalar\) of aten::add\.Scalar: expected a number, got a string/) },
  { name: "cat([t, 'b'])", fn: () => torch.cat([torch.ones([1]), any('b')]), expect: torchError(/^cat: argument 'tensors\[1\]' must be a Tensor, got a string \("b"\)/) },
  { name: 'indexSelect(0, [0])', fn: () => torch.ones([2]).indexSelect(0, any([0])), expect: torchError(/^indexSelect: argument 'index' must be a Tensor, got an array/) },
  { name: 'linear(x, undefined)', fn: () => torch.linear(torch.ones([1, 2]), any(undefined)), expect: torchError(/^linear: argument 'weight' must be a Tensor, got undefined/) },
  { name: "where(c, x, 'y')", fn: () => torch.where(torch.ones([2]).gt(0), torch.ones([2]), any('y')), expect: torchError(/argument 'other' \(Scalar\) of aten::where\.ScalarOther: expected a number, got a string/) },
  { name: "sum('a')", fn: () => torch.ones([2]).sum(any('a')), expect: torchError(/argument 'dim' \(int\[1?\]\?\) of aten::sum\.dim_IntList: expected an array, got a string/) },
  { name: "tensor(['a'])", fn: () => torch.tensor(any(['a'])), expect: torchError(/tensor data must hold numbers, booleans or bigints, found string/) },
  { name: 'tensor([1, true])', fn: () => torch.tensor([1, true]), expect: torchError(/tensor data mixes numbers, booleans and bigints/) },
  // disposed tensors
  { name: 'disposed.add(1)', fn: () => disposed().add(1), expect: torchError(/this tensor was disposed.*\(op: aten::add\.Scalar\)/) },
  { name: 'x.add(disposed)', fn: () => torch.ones([2, 2]).add(disposed()), expect: torchError(/this tensor was disposed.*\(op: aten::add\.Tensor\)/) },
  { name: 'disposed.matmul(x)', fn: () => disposed().matmul(torch.ones([2, 2])), expect: torchError(/this tensor was disposed.*\(op: unimrg::matmul\)/) },
  { name: 'disposed.toArray()', fn: () => disposed().toArray(), expect: torchError(/this tensor was disposed/) },
  // out-of-range numbers and BigInts
  { name: 'tensor([2n ** 70n])', fn: () => torch.tensor([2n ** 70n], { dtype: 'int64' }), expect: torchError(/value 1180591620717411303424n cannot be converted to type int64 without overflow \(range -9223372036854775808\.\.9223372036854775807\)/) },
  { name: "tensor([300n], int8)", fn: () => torch.tensor([300n], { dtype: 'int8' }), expect: torchError(/value 300n cannot be converted to type int8 without overflow \(range -128\.\.127\)/) },
  { name: 'tensor([-1], uint8)', fn: () => torch.tensor([-1], { dtype: 'uint8' }), expect: torchError(/value -1 cannot be converted to type uint8 without overflow \(range 0\.\.255\)/) },
  { name: 'tensor([2 ** 63], int64)', fn: () => torch.tensor([2 ** 63], { dtype: 'int64' }), expect: torchError(/value 9223372036854776000 cannot be converted to type int64/) },
  { name: 'tensor([1.5], int32)', fn: () => torch.tensor([1.5], { dtype: 'int32' }), expect: torchError(/integer dtype int32 needs integer data, got 1\.5/) },
  { name: 'add(2n ** 100n)', fn: () => torch.ones([2]).add(2n ** 100n), expect: torchError(/argument 'other' \(Scalar\) of aten::add\.Scalar: value 1267650600228229401496703205376n is out of range for int64 \(-9223372036854775808\.\.9223372036854775807\)/) },
  { name: 'mul(-(2n ** 64n))', fn: () => torch.ones([2]).mul(-(2n ** 64n)), expect: torchError(/value -18446744073709551616n is out of range for int64/) },
  { name: 'full([1], 2n ** 64n)', fn: () => torch.full([1], 2n ** 64n), expect: torchError(/argument 'fill_value' \(Scalar\) of aten::full: value 18446744073709551616n is out of range for int64/) },
  { name: 'arange(0n, 2n ** 64n)', fn: () => torch.arange(0n, 2n ** 64n), expect: torchError(/value 18446744073709551616n cannot be converted to type int64 without overflow.*\(op: arange\)/) },
  { name: 'narrow(0, 0, 1e300)', fn: () => torch.ones([2]).narrow(0, 0, 1e300), expect: torchError(/argument 'length' \((int|SymInt)\) of aten::narrow: value 1e\+300 is out of range for int64/) },
  { name: 'select(0, 2n ** 63n)', fn: () => torch.ones([2]).select(0, any(2n ** 63n)), expect: torchError(/argument 'index' \(int\) of aten::select\.int: value 9223372036854775808n is out of range for int64/) },
  { name: 'item() of int64 2^53 + 1', fn: () => torch.tensor([2n ** 53n + 1n]).item(), expect: torchError(/item\(\): 9007199254740993 \(int64\) is outside JavaScript's safe integer range .* use itemBigInt\(\)/) },
  { name: 'itemBigInt() of float32', fn: () => torch.ones([1]).itemBigInt(), expect: torchError(/itemBigInt\(\) needs an integer tensor, this one is float32/) },
  { name: 'item() of 3 elements', fn: () => torch.ones([3]).item(), expect: torchError(/item\(\) needs a tensor with exactly one element, this one has 3/) },
  // bad shapes, NaN sizes
  { name: 'zeros([1e20])', fn: () => torch.zeros([1e20]), expect: torchError(/^zeros: size 100000000000000000000 at dim 0 is out of range \(sizes are integers in 0\.\.9007199254740991\)/) },
  { name: 'ones([2, -1])', fn: () => torch.ones([2, -1]), expect: torchError(/^ones: size -1 at dim 1 is negative/) },
  { name: 'rand([2.5])', fn: () => torch.rand([2.5]), expect: torchError(/^rand: size 2\.5 at dim 0 is not an integer/) },
  { name: 'randn([NaN])', fn: () => torch.randn([NaN]), expect: torchError(/^randn: size NaN at dim 0 is not an integer/) },
  { name: 'randint(0, 5, [Infinity])', fn: () => torch.randint(0, 5, [Infinity]), expect: torchError(/^randint: size Infinity at dim 0 is not an integer/) },
  { name: 'zeros([2 ** 40, 2 ** 40])', fn: () => torch.zeros([2 ** 40, 2 ** 40]), expect: torchError(/^zeros: shape \[1099511627776, 1099511627776\] has 1208925819614629174706176 elements, out of range/) },
  { name: "empty(['a'])", fn: () => torch.empty(any(['a'])), expect: torchError(/^empty: size at dim 0 must be a number, got a string \("a"\)/) },
  { name: "full('x', 1)", fn: () => torch.full(any('x'), 1), expect: torchError(/^full: shape must be an array of sizes, got a string/) },
  { name: 'tensor(Float32Array(2), { shape: [3] })', fn: () => torch.tensor(new Float32Array(2), { shape: [3] }), expect: torchError(/data holds 8 bytes but shape \[3\] of float32 needs 12/) },
  { name: 'tensor(Float32Array(2), { shape: [-2, -1] })', fn: () => torch.tensor(new Float32Array(2), { shape: [-2, -1] }), expect: torchError(/^tensor: size -2 at dim 0 is negative/) },
  { name: 'tensor([[1, 2], [3]])', fn: () => torch.tensor([[1, 2], [3]]), expect: torchError(/nested arrays must be rectangular: expected length 2 at depth 1/) },
  { name: 'reshape(4, 2) of 6 elements', fn: () => torch.ones([2, 3]).reshape(4, 2), expect: torchError(/shape '\[4, 2\]' is invalid for input of size 6/) },
  // dtypes
  { name: "to('complex64')", fn: () => torch.ones([1]).to(any('complex64')), expect: torchError(/^to: 'complex64' is neither a dtype \(float32 .* bool\) nor a device/) },
  { name: "zeros(2, { dtype: 'float8' })", fn: () => torch.zeros(2, { dtype: any('float8') }), expect: torchError(/unknown dtype 'float8' \(expected one of float32/) },
  { name: 'int64 requiresGrad', fn: () => { torch.arange(3).requiresGrad = true; }, expect: torchError(/only Tensors of floating point .*dtype can require gradients/i) },
  { name: 'float32 matmul float64', fn: () => torch.ones([2, 2]).matmul(torch.ones([2, 2], { dtype: 'float64' })), expect: torchError(/dtype|scalar type/) },
  { name: 'indexSelect with a float index', fn: () => torch.ones([2]).indexSelect(0, torch.zeros([1])), expect: torchError(/index_select.*(Long|int64)/i) },
  { name: 'complex result: toArray()', fn: () => complex().toArray(), expect: torchError(/^toArray: complex64 tensors cannot be read: complex dtypes are not supported \(torch\.ops\.aten\.view_as_real/) },
  { name: 'complex result: item()', fn: () => (torch.ops.aten.view_as_complex(torch.ones([1, 2])) as Tensor).item(), expect: torchError(/complex64 tensors cannot be read: complex dtypes are not supported/) },
  { name: 'complex result: toNested()', fn: () => complex().toNested(), expect: torchError(/^toNested: complex64 tensors cannot be read/) },
  // devices
  { name: "zeros(2, { device: 'tpu' })", fn: () => torch.zeros(2, { device: any<Device>('tpu') }), expect: torchError(/unknown device 'tpu' \(expected 'cpu', 'cuda' or 'cuda:N'\)/) },
  { name: "to('tpu')", fn: () => torch.ones([1]).to(any('tpu')), expect: torchError(/^to: 'tpu' is neither a dtype .* nor a device \('cpu', 'cuda', 'cuda:N'\)/) },
  { name: "tensor([1], { device: 'cuda:x' })", fn: () => torch.tensor([1], { device: any<Device>('cuda:x') }), expect: torchError(/unknown device 'cuda:x'/) },
  ...(torch.cuda.isAvailable() ? [] : [
    { name: "zeros(2, { device: 'cuda' }) without CUDA", fn: () => torch.zeros(2, { device: 'cuda' }), expect: torchError(/^device 'cuda' is not available: no CUDA GPU can be used here \(torch\.cuda\.isAvailable\(\) is false/) },
    { name: "to('cuda:0') without CUDA", fn: () => torch.ones([1]).to('cuda:0'), expect: torchError(/^device 'cuda:0' is not available/) },
  ] as Row[]),
];

const logits = () => torch.randn([4, 5]);
const targets = () => ids([1, 2, 3, 0]);
const tasks = () => ids([0, 1, 0, 1]);

const crossEntropy: Row[] = [
  { name: 'CE: logits a string', fn: () => multitaskCrossEntropy(any('x'), targets(), null), expect: torchError(/^multitaskCrossEntropy: argument 'logits' must be a Tensor, got a string/) },
  { name: 'CE: taskIds a number', fn: () => multitaskCrossEntropy(logits(), targets(), any(3)), expect: torchError(/^multitaskCrossEntropy: argument 'taskIds \(or null\)' must be a Tensor, got a number \(3\)/) },
  { name: 'CE: disposed logits', fn: () => multitaskCrossEntropy(disposed(), targets(), null), expect: torchError(/this tensor was disposed/) },
  { name: 'CE: 1-D logits', fn: () => multitaskCrossEntropy(torch.randn([5]), targets(), null), expect: torchError(/logits must be \[N, V\] .*got shape \[5\]/) },
  { name: 'CE: int64 logits', fn: () => multitaskCrossEntropy(torch.zeros([4, 5], { dtype: 'int64' }), targets(), null), expect: torchError(/logits must be float32, float16 or bfloat16 \(float64 on CPU\), got int64/) },
  { name: 'CE: float targets', fn: () => multitaskCrossEntropy(logits(), torch.zeros([4]), null), expect: torchError(/targets must be int64 or int32, got float32/) },
  { name: 'CE: 3 targets for 4 rows', fn: () => multitaskCrossEntropy(logits(), ids([1, 2, 3]), null), expect: torchError(/targets have 3 elements but there are 4 rows of logits/) },
  { name: 'CE: task id 5 of 2 tasks', fn: () => multitaskCrossEntropy(logits(), targets(), ids([5, 0, 0, 0]), { numTasks: 2 }), expect: torchError(/task id 5 at position 0 is out of range for 2 tasks/) },
  { name: 'CE: target 9 of 5 classes', fn: () => multitaskCrossEntropy(logits(), ids([1, 9, 0, 0]), null), expect: torchError(/target 9 at position 1 is out of range for 5 classes/) },
  { name: 'CE: negative denominator (tensor)', fn: () => multitaskCrossEntropy(logits(), targets(), tasks(), { numTasks: 2, denominators: torch.tensor([1, -2]) }), expect: torchError(/multitask_cross_entropy: denominators\[1\] = -2 is negative; denominators must be >= 0/) },
  { name: 'CE: NaN denominator (tensor)', fn: () => multitaskCrossEntropy(logits(), targets(), tasks(), { numTasks: 2, denominators: torch.tensor([NaN, 1]) }), expect: torchError(/denominators\[0\] is NaN; denominators must be >= 0/) },
  { name: 'CE: negative denominator (numbers)', fn: () => multitaskCrossEntropy(logits(), targets(), tasks(), { numTasks: 2, denominators: [1, -2] }), expect: torchError(/denominators must be numbers >= 0 \(one per task\) or a tensor, got \[1,-2\]/) },
  { name: 'CE: labelSmoothing 2', fn: () => multitaskCrossEntropy(logits(), targets(), null, { labelSmoothing: 2 }), expect: torchError(/label_smoothing must lie in \[0, 1\], got 2/) },
  { name: 'CE: backward twice without retainGraph', fn: () => backwardTwice(() => multitaskCrossEntropy(leaf([4, 5]), targets(), null).loss), expect: torchError(/Trying to backward through the graph a second time/) },
  { name: 'linear CE: weight [5, 4] for H = 3', fn: () => multitaskLinearCrossEntropy(torch.randn([4, 3]), torch.randn([5, 4]), targets(), null), expect: torchError(/weight must be \[V, H\] with H = 3 \(from hidden\), got shape \[5, 4\]/) },
  { name: 'linear CE: float64 weight, float32 hidden', fn: () => multitaskLinearCrossEntropy(torch.randn([4, 3]), torch.randn([5, 3], { dtype: 'float64' }), targets(), null), expect: torchError(/weight is float64 but hidden is float32/) },
  { name: "linear CE: reduction 'none'", fn: () => multitaskLinearCrossEntropy(torch.randn([4, 3]), torch.randn([5, 3]), targets(), null, { reduction: any('none') }), expect: torchError(/reduction 'none' is not supported/) },
  { name: 'linear CE: bias a string', fn: () => multitaskLinearCrossEntropy(torch.randn([4, 3]), torch.randn([5, 3]), targets(), null, { bias: any('b') }), expect: torchError(/^multitaskLinearCrossEntropy: argument 'bias' must be a Tensor/) },
  { name: 'linear CE: negative denominator', fn: () => multitaskLinearCrossEntropy(torch.randn([4, 3]), torch.randn([5, 3]), targets(), null, { denominators: torch.tensor([-3]) }), expect: torchError(/denominators\[0\] = -3 is negative.*\(op: unimrg::multitask_linear_cross_entropy\)/) },
  { name: 'linear CE: backward twice without retainGraph', fn: () => backwardTwice(() => multitaskLinearCrossEntropy(leaf([4, 3]), leaf([5, 3]), targets(), null).loss), expect: torchError(/Trying to backward through the graph a second time/) },
];

const pred = () => torch.randn([4, 3]);
const diffusion: Row[] = [
  { name: 'diffusion: pred a number', fn: () => multitaskDiffusionLoss(any(1), pred(), tasks(), { weights: [1, 1] }), expect: torchError(/^multitaskDiffusionLoss: argument 'pred' must be a Tensor, got a number \(1\)/) },
  { name: 'diffusion: no weights', fn: () => multitaskDiffusionLoss(pred(), pred(), tasks(), any({})), expect: torchError(/options\.weights \(one weight per task\) is required/) },
  { name: 'diffusion: target [4, 2] for pred [4, 3]', fn: () => multitaskDiffusionLoss(pred(), torch.randn([4, 2]), tasks(), { weights: [1, 1] }), expect: torchError(/target shape \[4, 2\] does not match pred shape \[4, 3\]/) },
  { name: 'diffusion: int64 pred', fn: () => multitaskDiffusionLoss(torch.zeros([4, 3], { dtype: 'int64' }), torch.zeros([4, 3], { dtype: 'int64' }), tasks(), { weights: [1, 1] }), expect: torchError(/pred must be float32, float64, float16 or bfloat16, got int64/) },
  { name: 'diffusion: task id 7 of 2 tasks', fn: () => multitaskDiffusionLoss(pred(), pred(), ids([0, 7, 0, 1]), { weights: [1, 1] }), expect: torchError(/task_ids\[1\] = 7 is out of range: weights has 2 tasks/) },
  { name: 'diffusion: negative mask', fn: () => multitaskDiffusionLoss(pred(), pred(), tasks(), { weights: [1, 1], mask: torch.tensor([1, -1, 1, 1]) }), expect: torchError(/multitask_diffusion_loss: mask\[1\] = -1 is negative; mask must be >= 0/) },
  { name: 'diffusion: negative denominator (tensor)', fn: () => multitaskDiffusionLoss(pred(), pred(), tasks(), { weights: [1, 1], denominators: torch.tensor([2, -1]) }), expect: torchError(/multitask_diffusion_loss: denominators\[1\] = -1 is negative; denominators must be >= 0/) },
  { name: 'diffusion: negative denominator (numbers)', fn: () => multitaskDiffusionLoss(pred(), pred(), tasks(), { weights: [1, 1], denominators: [2, -1] }), expect: torchError(/^multitaskDiffusionLoss: denominators must be >= 0, got \[2, -1\]|denominators must be >= 0, got \[2, -1\]/) },
  { name: 'diffusion: mask requires grad', fn: () => multitaskDiffusionLoss(pred(), pred(), tasks(), { weights: [1, 1], mask: leaf([4]) }), expect: torchError(/mask is not differentiable; pass mask\.detach\(\)/) },
  { name: 'diffusion: backward twice without retainGraph', fn: () => backwardTwice(() => multitaskDiffusionLoss(leaf([4, 3]), pred(), tasks(), { weights: [1, 1] }).loss), expect: torchError(/Trying to backward through the graph a second time/) },
];

const rows: Row[] = [...tensorApi, ...crossEntropy, ...diffusion];

describe('bad-input corpus: a clear error, nothing leaked, the process keeps working', () => {
  it('has at least 40 rows with distinct names', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  });

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const before = torch.memory().tensors;
    let thrown: unknown;
    torch.tidy(() => {
      try {
        row.fn();
      } catch (e) {
        thrown = e;
      }
    });
    expect(thrown).toBeInstanceOf(row.expect.error);
    const message = (thrown as Error).message;
    expect(message).toMatch(row.expect.message);
    expect(message).not.toMatch(/\n|Exception raised from|frame #|is not a constructor|Cannot read properties/);
    expect(torch.memory().tensors).toBe(before);
    // alive, and a trivial op still works
    expect(process.memoryUsage().rss).toBeGreaterThan(0);
    torch.tidy(() => expect(torch.ones([2]).add(1).toNested()).toEqual([2, 2]));
  });
});

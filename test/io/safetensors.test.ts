// safetensors: bit-exact round trips for every dtype, files checked by an independent minimal
// parser written here, files written by PyTorch's side read back, and clear errors for
// truncated or corrupt files, wrong dtype strings and offsets out of range.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { io, torch, Tensor, TorchError } from '../../lib';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unimrg-st-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (n: string) => path.join(dir, n);
const bytes = (t: Tensor) => Buffer.from(t.toArray().buffer);

/** The format, parsed from scratch: [header, dataStart]. */
function parse(buf: Buffer): [Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> }, number] {
  const n = Number(buf.readBigUInt64LE(0));
  return [JSON.parse(buf.subarray(8, 8 + n).toString('utf8')), 8 + n];
}

function sample(): Record<string, Tensor> {
  const f32 = new Float32Array([1.5, -0, NaN, Infinity, -Infinity, 1e-45, 3.4e38]);
  const nanPayload = new Uint32Array(f32.buffer); nanPayload[2] = 0x7fc12345; // a NaN with a payload survives
  return {
    f64: torch.tensor(new Float64Array([Math.PI, -1e308, 5e-324, NaN]), { shape: [2, 2] }),
    f32: torch.tensor(f32),
    f16: torch.tensor(new Uint16Array([0x3c00, 0x7bff, 0x0001, 0xfc00, 0x7e01]), { dtype: 'float16' }),
    bf16: torch.tensor(new Uint16Array([0x3f80, 0x7f7f, 0x0001, 0xff80, 0x7fc1, 0x1234]), { dtype: 'bfloat16', shape: [3, 2] }),
    i64: torch.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n])),
    i32: torch.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1])),
    i16: torch.tensor(new Int16Array([-32768, 32767, 7])),
    i8: torch.tensor(new Int8Array([-128, 127])),
    u8: torch.tensor(new Uint8Array([0, 255, 9]), { shape: [1, 3] }),
    bool: torch.tensor([[true, false], [false, true]]),
    scalar: torch.tensor(new Float32Array([42]), { shape: [] }),
    empty: torch.zeros([0, 3]),
    noncontig: torch.arange(0, 12, 1, { dtype: 'float32' }).reshape(3, 4).t(),
  };
}

describe('safetensors round trip', () => {
  it('every dtype, bit-exact, with metadata; an independent parser agrees with the file', () => {
    const ts = sample();
    io.saveSafetensors(file('all.safetensors'), ts, { format: 'pt', note: 'ünïcode' });
    const back = io.loadSafetensors(file('all.safetensors'));
    expect(Object.keys(back).sort()).toEqual(Object.keys(ts).sort());
    for (const [k, t] of Object.entries(ts)) {
      expect(back[k].dtype).toBe(t.dtype);
      expect(back[k].shape).toEqual(t.shape);
      expect(bytes(back[k]).equals(bytes(t))).toBe(true);
    }
    const buf = fs.readFileSync(file('all.safetensors'));
    const [h, start] = parse(buf);
    expect(start % 8).toBe(0); // header padded to 8 bytes
    expect(h.__metadata__).toEqual({ format: 'pt', note: 'ünïcode' });
    const names: Record<string, string> = { f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16', i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8', u8: 'U8', bool: 'BOOL' };
    let end = 0;
    for (const [k, t] of Object.entries(ts)) {
      const e = h[k];
      if (names[k]) expect(e.dtype).toBe(names[k]);
      expect(e.shape).toEqual(t.shape);
      expect(buf.subarray(start + e.data_offsets[0], start + e.data_offsets[1]).equals(bytes(t))).toBe(true);
      end = Math.max(end, e.data_offsets[1]);
    }
    expect(buf.length).toBe(start + end);
    // Largest elements first, as the reference writer lays them out: the f64 and i64 data lead.
    const order = Object.entries(h).filter(([k]) => k !== '__metadata__').sort((a, b) => (a[1] as { data_offsets: number[] }).data_offsets[0] - (b[1] as { data_offsets: number[] }).data_offsets[0]).map(([k]) => k);
    expect(order.slice(0, 2)).toEqual(['f64', 'i64']);
  });

  it('reads one tensor lazily without the others', () => {
    const f = io.openSafetensors(file('all.safetensors'));
    expect(f.keys()).toContain('bf16');
    expect(f.info('bf16')).toMatchObject({ dtype: 'bfloat16', shape: [3, 2] });
    expect(Array.from(f.get('i16').toArray() as Int16Array)).toEqual([-32768, 32767, 7]);
    expect(() => f.get('nope')).toThrow(/no tensor named 'nope'/);
  });

  it('writes atomically: replaces the old file and leaves no temporary behind; a failed write keeps the old file', () => {
    const p = file('atomic.safetensors');
    io.saveSafetensors(p, { a: torch.ones([3]) });
    io.saveSafetensors(p, { b: torch.zeros([2]) });
    expect(Object.keys(io.loadSafetensors(p))).toEqual(['b']);
    const gone = torch.ones([2]);
    gone.dispose();
    expect(() => io.saveSafetensors(p, { c: torch.ones([2]), d: gone })).toThrow(TorchError);
    expect(Object.keys(io.loadSafetensors(p))).toEqual(['b']);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('safetensors errors', () => {
  const good = () => {
    io.saveSafetensors(file('good.safetensors'), { x: torch.ones([4]), y: torch.zeros([2, 2], { dtype: 'float64' }) });
    return fs.readFileSync(file('good.safetensors'));
  };
  const withHeader = (h: unknown, data: Buffer) => {
    const json = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, data]);
  };
  const expectError = (buf: Buffer, re: RegExp) => {
    fs.writeFileSync(file('bad.safetensors'), buf);
    expect(() => io.loadSafetensors(file('bad.safetensors'))).toThrow(re);
  };
  it('truncated files', () => {
    const buf = good();
    expectError(buf.subarray(0, 5), /fewer than the 8-byte header length/);
    expectError(buf.subarray(0, 20), /runs past the end/);
    expectError(buf.subarray(0, buf.length - 3), /out of range|cover/);
  });
  it('corrupt headers', () => {
    const len = Buffer.alloc(8); len.writeBigUInt64LE(2n ** 40n);
    expectError(Buffer.concat([len, Buffer.alloc(16)]), /exceeds/);
    const json = Buffer.from('{"x": {"dtype": "F32"');
    const l2 = Buffer.alloc(8); l2.writeBigUInt64LE(BigInt(json.length));
    expectError(Buffer.concat([l2, json]), /not valid JSON/);
    expectError(withHeader([1, 2], Buffer.alloc(0)), /must be a JSON object/);
    expectError(withHeader({ __metadata__: { a: 1 } }, Buffer.alloc(0)), /__metadata__ must map strings to strings/);
  });
  it('wrong dtype strings, shapes and offsets', () => {
    const d = Buffer.alloc(16);
    expectError(withHeader({ x: { dtype: 'F33', shape: [4], data_offsets: [0, 16] } }, d), /unknown dtype "F33"/);
    expectError(withHeader({ x: { dtype: 'U32', shape: [4], data_offsets: [0, 16] } }, d), /U32, which libtorch 1\.13 has no tensor type for/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, d), /non-negative integers/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } }, d), /needs 16 bytes but data_offsets \[0, 12\] span 12/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, d), /out of range: the data section holds 16 bytes/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, d.subarray(0, 12)), /overlap or hole/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, d), /overlap or hole/);
    expectError(withHeader({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, d), /cover 8 bytes of data but the file holds 16/);
    expect(() => io.loadSafetensors(file('missing.safetensors'))).toThrow(/cannot open/);
  });
  it('refuses bad input on write', () => {
    expect(() => io.saveSafetensors(file('w.safetensors'), { __metadata__: torch.ones([1]) })).toThrow(/reserved/);
    expect(() => io.saveSafetensors(file('w.safetensors'), { a: torch.ones([1]) }, { n: 3 as unknown as string })).toThrow(/must be strings/);
  });
});

describe('reading files written by PyTorch', () => {
  it('reads a file written by the Python fixture generator (its own hand-written writer)', () => {
    const t = io.loadSafetensors(path.join(__dirname, '..', 'fixtures', 'nn', 'linear.safetensors'));
    expect(t['param.weight'].shape).toEqual([3, 5]);
    expect(t['param.weight'].dtype).toBe('float64');
    expect(io.openSafetensors(path.join(__dirname, '..', 'fixtures', 'nn', 'linear.safetensors')).metadata.torch).toMatch(/^1\.13/);
  });
});

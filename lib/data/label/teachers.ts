// Label teachers: TorchScript modules exported from Python that turn an image batch into depth
// or instance masks, and the published post-processing of their outputs.
//  - Input: [B, 3, S, S] float32, every image stretched to S x S (bicubic, as Depth Anything's
//    cv2.INTER_CUBIC resize; S a multiple of 14 for DINOv2-based teachers), x / 255 then
//    normalised per channel (ImageNet mean / std by default: Depth Anything V2 and SAM both use it).
//  - Depth teacher output: relative inverse depth (disparity, near large) [B, H', W'] or
//    [B, 1, H', W'], resized back to each image's size (bilinear, align_corners=True, as Depth
//    Anything's infer_image), min-max normalised per image (near bright) and quantised to 16 or 8 bits.
//  - Segmentation teacher output: instance masks [B, K, H', W'] (float logits or probabilities,
//    thresholded at `maskThreshold` after a bilinear resize, as SAM's postprocess_masks; or bool /
//    integer 0/1 masks, nearest resize), or an instance-id map [B, H', W'] (integer, 0 = none,
//    nearest resize). The boundary map is the union of the edges of every mask (targets.ts).
// A tuple / list output gives its first element; a dict its 'depth' / 'masks' entry (or its only one).
import { torch, type Tensor } from '../../torch';
import type { Device } from '../../torch/dtype';
import type { ScriptModule, ScriptOutput } from '../../torch/jit';
import { chw, type ImageU8, ndarray, type NDArray } from '../ndarray';
import { type Normalization, type NormalizationName, normalization } from '../preprocess';
import { resize } from '../resize';
import { boundaries, boundariesFromMasks, depthTarget, targetToImage } from '../targets';

export interface TeacherOptions {
  /** Side of the square input (default: 518 for depth, 1024 for segmentation). */
  size?: number;
  /** Input statistics, on x / 255 (default 'imagenet'). */
  normalization?: NormalizationName | Normalization;
  /** Device the module was loaded onto: inputs go there (default: the module's). */
  device?: string;
  /**
   * Run every forward on exactly this many images, padding a short batch with copies of its
   * last image (outputs of the copies are dropped): a module traced with torch.jit.trace often
   * has its batch size baked in. Default: the batch as given.
   */
  fixedBatch?: number;
}

export interface SegmentationTeacherOptions extends TeacherOptions {
  /** Float masks are inside where value > maskThreshold: 0 for logits (SAM's default), 0.5 for probabilities. */
  maskThreshold?: number;
}

/**
 * The input batch: every image stretched to size x size, x / 255, normalised; on `device`.
 * `rows` (>= images.length) pads the batch with copies of the last image.
 */
export function teacherInput(images: readonly ImageU8[], size: number, norm: Normalization, device: string, rows = images.length): Tensor {
  const n = size * size;
  const data = new Float32Array(rows * 3 * n);
  images.forEach((img, b) => {
    const [c] = chw(img);
    if (c !== 3) throw new RangeError(`a teacher takes RGB [3, H, W] images, got [${img.shape}]`);
    data.set(resize(img, size, size, { filter: 'bicubic' }).data, b * 3 * n);
  });
  const last = (images.length - 1) * 3 * n;
  for (let b = images.length; b < rows; b++) data.copyWithin(b * 3 * n, last, last + 3 * n);
  return torch.tidy(() => {
    const x = torch.tensor(data, { shape: [rows, 3, size, size] }).to(device as Device);
    const mean = torch.tensor(Float32Array.from(norm.mean), { shape: [1, 3, 1, 1] }).to(device as Device);
    const std = torch.tensor(Float32Array.from(norm.std), { shape: [1, 3, 1, 1] }).to(device as Device);
    return x.div(255).sub(mean).div(std);
  });
}

/** The tensor a teacher answered with (first of a tuple, 'key' or the only entry of a dict). */
export function pickOutput(out: ScriptOutput, key: string, what: string): Tensor {
  if (out instanceof torch.Tensor) return out;
  if (Array.isArray(out)) {
    if (out.length > 0 && out[0] instanceof torch.Tensor) return out[0];
    throw new RangeError(`the ${what} teacher returned a tuple or list whose first element is not a tensor`);
  }
  const keys = Object.keys(out);
  const k = key in out ? key : keys.length === 1 ? keys[0] : undefined;
  if (k !== undefined && out[k] instanceof torch.Tensor) return out[k] as Tensor;
  throw new RangeError(`the ${what} teacher returned a dict without a '${key}' tensor (keys: ${keys.join(', ') || 'none'})`);
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`teacher input size must be a positive integer, got ${size}`);
  return size;
}

/** Rows of the forward batch for n images (fixedBatch, or n). */
function batchRows(n: number, fixed: number | undefined): number {
  if (fixed === undefined) return n;
  if (!Number.isInteger(fixed) || fixed < 1) throw new RangeError(`fixedBatch must be a positive integer, got ${fixed}`);
  if (n > fixed) throw new RangeError(`${n} images do not fit a fixed batch of ${fixed}`);
  return fixed;
}

/** forward on a batch without autograd; called inside tidy(), which frees every output tensor. */
function run(module: ScriptModule, x: Tensor, key: string, what: string): Tensor {
  return pickOutput(torch.noGrad(() => module.forward(x)), key, what);
}

/** Wraps a depth teacher module. predict() gives disparity maps at each image's own size. */
export class DepthTeacher {
  readonly size: number;
  readonly norm: Normalization;
  readonly device: string;
  readonly fixedBatch?: number;

  constructor(readonly module: ScriptModule, o: TeacherOptions = {}) {
    this.size = checkSize(o.size ?? 518);
    this.norm = normalization(o.normalization ?? 'imagenet');
    this.device = o.device ?? module.device;
    this.fixedBatch = o.fixedBatch;
  }

  /** Raw disparity (near large) per image, float32 [H, W] at the image's size. */
  predict(images: readonly ImageU8[]): NDArray<'float32'>[] {
    if (images.length === 0) return [];
    return torch.tidy(() => {
      const rows = batchRows(images.length, this.fixedBatch);
      const x = teacherInput(images, this.size, this.norm, this.device, rows);
      const y = run(this.module, x, 'depth', 'depth');
      const s = y.shape;
      const ok = (s.length === 3 || (s.length === 4 && s[1] === 1)) && s[0] === rows;
      if (!ok) {
        throw new RangeError(`the depth teacher returned shape [${s}] for ${rows} images; expected [B, H, W] or [B, 1, H, W]`);
      }
      const d = y.reshape(rows, 1, s[s.length - 2], s[s.length - 1]).float();
      return images.map((img, b) => {
        const [, h, w] = chw(img);
        let m = d.narrow(0, b, 1);
        if (m.shape[2] !== h || m.shape[3] !== w) m = torch.nn.functional.interpolate(m, { size: [h, w], mode: 'bilinear', alignCorners: true });
        return ndarray('float32', [h, w], m.contiguous().cpu().toArray() as Float32Array);
      });
    });
  }

  dispose(): void { this.module.dispose(); }
}

/** Wraps a segmentation teacher module. predict() gives boundary maps at each image's size. */
export class SegmentationTeacher {
  readonly size: number;
  readonly norm: Normalization;
  readonly device: string;
  readonly fixedBatch?: number;
  readonly maskThreshold: number;

  constructor(readonly module: ScriptModule, o: SegmentationTeacherOptions = {}) {
    this.size = checkSize(o.size ?? 1024);
    this.norm = normalization(o.normalization ?? 'imagenet');
    this.device = o.device ?? module.device;
    this.fixedBatch = o.fixedBatch;
    this.maskThreshold = o.maskThreshold ?? 0;
  }

  /** The boundary map (255 on every mask's edge) per image, uint8 [H, W] at the image's size. */
  predict(images: readonly ImageU8[]): NDArray<'uint8'>[] {
    if (images.length === 0) return [];
    return torch.tidy(() => {
      const rows = batchRows(images.length, this.fixedBatch);
      const x = teacherInput(images, this.size, this.norm, this.device, rows);
      const y = run(this.module, x, 'masks', 'segmentation');
      const s = y.shape, dt = y.dtype;
      const float = dt.startsWith('float') || dt === 'bfloat16';
      if (s[0] !== rows || !(s.length === 4 || (s.length === 3 && !float))) {
        throw new RangeError(`the segmentation teacher returned ${dt} [${s}] for ${rows} images; ` +
          'expected masks [B, K, H, W] or an integer instance-id map [B, H, W]');
      }
      return images.map((img, b) => {
        const [, h, w] = chw(img);
        if (s.length === 3) { // an id map
          let ids = y.narrow(0, b, 1).unsqueeze(1).float();
          if (s[1] !== h || s[2] !== w) ids = torch.nn.functional.interpolate(ids, { size: [h, w], mode: 'nearest' });
          return boundaries(ndarray('int32', [h, w], ids.int().cpu().toArray() as Int32Array));
        }
        let m = y.narrow(0, b, 1).float();
        const resized = s[2] !== h || s[3] !== w;
        if (float) {
          if (resized) m = torch.nn.functional.interpolate(m, { size: [h, w], mode: 'bilinear', alignCorners: false });
          m = m.gt(this.maskThreshold);
        } else {
          if (resized) m = torch.nn.functional.interpolate(m, { size: [h, w], mode: 'nearest' });
          m = m.ne(0);
        }
        const bits = m.to('uint8').contiguous().cpu().toArray() as Uint8Array;
        const masks: NDArray<'uint8'>[] = [];
        for (let k = 0; k < s[1]; k++) masks.push(ndarray('uint8', [h, w], bits.subarray(k * h * w, (k + 1) * h * w)));
        return boundariesFromMasks(masks, h, w);
      });
    });
  }

  dispose(): void { this.module.dispose(); }
}

/**
 * A disparity map as the grey PNG a depth folder holds: min-max normalised per image (near =
 * white; data.depthTarget with kind 'disparity'), 16-bit (round(t * 65535)) or 8-bit.
 */
export function depthImage(disparity: NDArray<'float32'>, bits: 8 | 16 = 16): NDArray<'uint8'> | NDArray<'uint16'> {
  const [h, w] = disparity.shape;
  const t = depthTarget(disparity, { kind: 'disparity' });
  const first = ndarray('float32', [1, h, w], t.data.subarray(0, h * w));
  if (bits === 8) return targetToImage(first);
  if (bits !== 16) throw new RangeError(`depth PNGs are 8 or 16 bits, got ${bits}`);
  return ndarray('uint16', [1, h, w], Uint16Array.from(first.data, (v) => Math.round(((Math.min(1, Math.max(-1, v)) + 1) / 2) * 65535)));
}

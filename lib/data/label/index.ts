// Label teachers (`unimrg label`): depth and boundary targets for an image folder from
// TorchScript teachers, with UniMRG's post-processing. Needs the native addon (torch.jit).
export { DepthTeacher, SegmentationTeacher, depthImage, pickOutput, teacherInput } from './teachers';
export type { SegmentationTeacherOptions, TeacherOptions } from './teachers';
export { IMAGE_EXTENSIONS, labelImages, labelPath, listImages } from './label';
export type { LabelOptions, LabelProblem, LabelProgress, LabelResult } from './label';

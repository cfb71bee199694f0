// The four UniMRG tasks, their ids (the task id of each token in a batch) and their prompts.
import type { Rng } from '../rng';

export const TASKS = ['understanding', 'reconstruction', 'depth', 'segmentation'] as const;
export type TaskKind = (typeof TASKS)[number];

/** Task id per token in batches: the index in TASKS. */
export const TASK_ID: Readonly<Record<TaskKind, number>> = { understanding: 0, reconstruction: 1, depth: 2, segmentation: 3 };

export const isGeneration = (t: TaskKind) => t !== 'understanding';

export function checkTask(t: string): TaskKind {
  if (!(TASKS as readonly string[]).includes(t)) throw new RangeError(`unknown task '${t}' (expected ${TASKS.join(', ')})`);
  return t as TaskKind;
}

/** Paraphrased prompts (the first of each list is the one the paper quotes). */
export const PROMPTS: Readonly<Record<Exclude<TaskKind, 'understanding'>, readonly string[]>> = {
  reconstruction: [
    'Reconstruct this image.',
    'Generate the same image.',
    'Reproduce this image.',
    'Redraw this image exactly.',
    'Generate a copy of this image.',
  ],
  depth: [
    'Generate the depth map of this image.',
    'Predict the depth map of this image.',
    'Estimate the depth of this image.',
    'Produce a depth map for this image.',
    'Show how far each part of this image is from the camera.',
  ],
  segmentation: [
    'Generate the segmentation mask of this image.',
    'Segment the objects in this image.',
    'Produce the segmentation map of this image.',
    'Predict the segmentation mask of this image.',
    'Create a segmentation map for this image.',
    'Draw the boundaries of every object in this image.',
    'Generate the object boundaries of this image.',
    'Outline every object in this image.',
    'Show the instance boundaries of this image.',
    'Generate an edge map of the objects in this image.',
  ],
};

/** The generic prompt that replaces the reconstruction prompt 10% of the time. */
export const GENERIC_PROMPT = 'Generate an image.';
export const GENERIC_PROMPT_RATE = 0.1;

/** A prompt for a generation task, drawn from its paraphrases. */
export function generationPrompt(task: Exclude<TaskKind, 'understanding'>, rng: Rng, genericRate = GENERIC_PROMPT_RATE): string {
  if (task === 'reconstruction' && rng.chance(genericRate)) return GENERIC_PROMPT;
  return rng.pick(PROMPTS[task]);
}

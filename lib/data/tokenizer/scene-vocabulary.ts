// The word tokenizer of the embedded scenes: its vocabulary is enumerated from the scene word
// lists, the question templates and the task prompts, so it never changes between runs.
import { COLORS, PLURAL, SHAPES } from '../scenes/vocabulary';
import { GENERIC_PROMPT, PROMPTS } from '../tasks/kinds';
import { WordTokenizer } from './word';

/** Every fixed phrase of the question templates (qa.ts) and chat roles. */
const TEMPLATE_TEXT = [
  'Which is closer to the camera, the or the?',
  'Which is farther from the camera, the or the?',
  'Is the closer to the camera than the?',
  'Is the to the left of the? to the right of the? above the in the image? below the in the image?',
  'How many objects are there? How many are there?',
  'What color is the? What shape is the object?',
  'Is there a in the image?',
  'Is the partly hidden?',
  'yes no',
  'system user assistant',
];

export const MAX_COUNT_WORD = 20;

export function sceneTokenizer(): WordTokenizer {
  const corpus: string[] = [...TEMPLATE_TEXT, ...COLORS, ...SHAPES, ...Object.values(PLURAL), GENERIC_PROMPT];
  for (const list of Object.values(PROMPTS)) corpus.push(...list);
  for (let i = 0; i <= MAX_COUNT_WORD; i++) corpus.push(String(i));
  return WordTokenizer.fromCorpus(corpus);
}

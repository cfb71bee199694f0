export type { TextTokenizer } from './types';
export { requireToken } from './types';
export { WordTokenizer, WORD_SPECIALS } from './word';
export type { WordTokenizerJSON } from './word';
export { HuggingFaceTokenizer } from './huggingface';
export type { HuggingFaceOptions } from './huggingface';
export { sceneTokenizer } from './scene-vocabulary';
export { encodeChat, qwenTemplate, plainTemplate, TEMPLATES, template, IGNORE_INDEX, IMAGE_TAG } from './chat';
export type { ChatPiece, ChatTemplate, ChatTurn, EncodeChatOptions, EncodedChat } from './chat';

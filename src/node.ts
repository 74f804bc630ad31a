/**
 * wgrad for Node.js (`import … from 'wgrad/node'`): everything the platform-neutral entry exports,
 * plus what needs the file system: model checkpoints, written as atomic directories, and Hugging Face
 * GPT-2 directories converted to and from them. `init()` acquires
 * Dawn from the `webgpu` package in both entries; bundles for the browser import `wgrad` instead,
 * which never loads `node:` modules.
 * @module
 */
export * from './index.js';
export { saveCheckpoint, loadCheckpoint } from './io/checkpoint.js';
export { importHF, exportHF, type HFConversion } from './io/hf-dir.js';

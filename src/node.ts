/**
 * wgrad for Node.js (`import … from 'wgrad/node'`): everything the platform-neutral entry exports,
 * plus what needs the file system: model checkpoints, written as atomic directories. `init()` acquires
 * Dawn from the `webgpu` package in both entries; bundles for the browser import `wgrad` instead,
 * which never loads `node:` modules.
 * @module
 */
export * from './index.js';
export { saveCheckpoint, loadCheckpoint } from './io/checkpoint.js';

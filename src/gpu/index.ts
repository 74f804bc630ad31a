export { init, type InitOptions } from './acquire.js';
export { Device, type MemoryInfo } from './device.js';

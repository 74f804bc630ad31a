// Exits 0 when Dawn (npm package `webgpu`) can give us an adapter, prints what it found.
import { create, globals } from 'webgpu';
Object.assign(globalThis, globals);
let gpu = create([]);
const adapter = await gpu.requestAdapter();
gpu = null;
if (!adapter) {
  console.error('no WebGPU adapter');
  process.exit(1);
}
const { vendor, architecture, device, description } = adapter.info;
console.log(`adapter: ${[vendor, architecture, device, description].filter(Boolean).join(' / ')}`);
process.exit(0);

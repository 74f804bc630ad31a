/**
 * One Dawn `GPU` object for the whole benchmark run, installed as `navigator.gpu` together with the
 * WebGPU globals (`GPUBufferUsage`, `GPUMapMode`, …) that Node lacks, so that wgrad's `init()` and
 * TF.js's WebGPU backend both find it, as they would in a browser: same instance, same adapter.
 * The navigator global also keeps the object alive for as long as devices made from it are in use.
 */
import { create, globals } from 'webgpu';

let gpu: GPU | null = null;

export function benchGPU(): GPU {
  if (gpu) return gpu;
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(globals)) if (!(k in g)) g[k] = v;
  // Node 21+ has a `navigator` (without gpu); Node 20 has none.
  if (g.navigator === undefined) Object.defineProperty(g, 'navigator', { value: {}, configurable: true, writable: true });
  const nav = g.navigator as { gpu?: GPU };
  gpu = nav.gpu ?? create([]);
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  return gpu;
}

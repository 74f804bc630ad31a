/**
 * Acquiring a device, in a browser (`navigator.gpu`) or in Node (Dawn, from the npm package `webgpu`),
 * behind one function. We ask for the adapter's real limits: the spec defaults (128 MiB bindings,
 * 16 KiB workgroup storage) are far below what most adapters offer.
 */
import { DeviceError } from '../errors.js';
import { Device, type DeviceOptions } from './device.js';

/** Options of init(): a GPU object to use, the power preference, and the device's batching. */
export interface InitOptions extends DeviceOptions {
  /** A `GPU` object to use instead of `navigator.gpu` or Dawn. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
}

const LIMITS_WE_WANT = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Acquire a WebGPU device. Each call gives a new, independent device. */
export async function init(options: InitOptions = {}): Promise<Device> {
  const gpu = options.gpu ?? (await platformGPU());
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (err) {
    throw new DeviceError('init', `the WebGPU adapter request failed: ${(err as Error).message}`, 'WebGPU is present but unusable here; check the browser\'s GPU settings (chrome://gpu) or its flags (--enable-unsafe-webgpu)');
  }
  if (!adapter) {
    throw new DeviceError(
      'init',
      'no WebGPU adapter is available',
      isNode()
        ? 'on a machine without a GPU, install a software Vulkan driver: run `bash scripts/setup.sh` (Mesa lavapipe from bookworm-backports on Debian)'
        : 'use a browser with WebGPU enabled (Chrome/Edge 113+, or Chromium with --enable-unsafe-webgpu)',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS_WE_WANT) requiredLimits[name] = adapter.limits[name];
  const features = (['shader-f16', 'timestamp-query'] as const).filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  } catch (err) {
    throw new DeviceError('init', `the adapter refused a device: ${(err as Error).message}`, 'try again; if it persists, the driver may be in a bad state');
  }
  return new Device(device, adapter.info, options);
}

/**
 * The platform's GPU object: `navigator.gpu`, or in Node one Dawn instance for the whole process
 * (Dawn's equivalent of navigator.gpu). Devices made from it stay independent. Sharing it matters:
 * a second Dawn instance being garbage-collected while another is in use crashed the process.
 * Node still exits once every device is destroyed.
 */
let dawn: Promise<GPU> | null = null;

async function platformGPU(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (isNode()) {
    dawn ??= (async () => {
      // The specifier is a variable so browser bundles never try to include Dawn.
      const specifier = 'webgpu';
      const mod = (await import(/* @vite-ignore */ specifier)) as { create(flags: string[]): GPU };
      return mod.create([]);
    })();
    return dawn;
  }
  // Browsers expose navigator.gpu only to secure contexts (https, or http on localhost / 127.0.0.1).
  const insecure = (globalThis as { isSecureContext?: boolean }).isSecureContext === false;
  throw new DeviceError(
    'init',
    'this environment has no WebGPU (navigator.gpu is missing)',
    insecure
      ? 'this page is not a secure context, and browsers only offer WebGPU to those: open it over https or from http://localhost / 127.0.0.1'
      : 'use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+, or Chromium with --enable-unsafe-webgpu), or Node.js with the `webgpu` package',
  );
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

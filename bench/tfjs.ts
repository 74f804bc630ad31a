/**
 * TF.js's WebGPU backend as a benchmark reference, on the bench's Dawn `GPU` object (bench/webgpu.ts),
 * so on the same adapter as wgrad. The backend registers itself at import time only when
 * `navigator.gpu` exists, so it is imported after benchGPU() has installed it.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { benchGPU } from './webgpu.js';

export interface TfjsReference {
  tf: typeof TF;
  backend: WebGPUBackend;
  version: string;
  /** Default dispatches per submit (the WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE flag). */
  defaultBatch: number;
  /** Submit what TF.js has recorded and wait for the GPU, like wgrad's device.sync(). */
  sync(): Promise<void>;
  destroy(): void;
}

/** Loads TF.js's WebGPU backend, or returns why it cannot run here. */
export async function loadTfjs(): Promise<TfjsReference | string> {
  benchGPU();
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false (TF.js printed why above)');
    await tf.ready();
    // Small tensors would otherwise run on TF.js's CPU backend; we are measuring GPU dispatch.
    tf.env().set('WEBGPU_CPU_FORWARD', false);
    const backend = tf.backend() as WebGPUBackend;
    return {
      tf,
      backend,
      version: tf.version_core,
      defaultBatch: tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE'),
      async sync() {
        backend.ensureCommandEncoderReady();
        backend.endComputePassEncoder();
        backend.submitQueue();
        await backend.device.queue.onSubmittedWorkDone();
      },
      destroy() {
        backend.dispose();
        backend.device.destroy();
      },
    };
  } catch (err) {
    return `TF.js's WebGPU backend could not start: ${(err as Error).message ?? String(err)}`;
  }
}

/**
 * Registers TF.js's WASM or CPU backend next to WebGPU (each contender activates the backend it
 * uses, then WebGPU is active again). Returns true, or why that backend is skipped.
 */
export async function loadTfjsBackend(ref: TfjsReference | string, backend: 'wasm' | 'cpu'): Promise<true | string> {
  if (typeof ref === 'string') return 'TF.js did not load';
  const { tf } = ref;
  const pkg = `@tensorflow/tfjs-backend-${backend}`;
  try {
    await import(backend === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend(backend))) return `tf.setBackend("${backend}") returned false`;
    await tf.ready();
    await tf.setBackend('webgpu');
    return true;
  } catch (err) {
    return `${pkg} is not available (${(err as Error).message ?? String(err)}); install it with npm install --no-save ${pkg}`;
  }
}

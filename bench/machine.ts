/** The machine, the adapter and the versions a run measured, for results.json and report.md. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import type { Device } from '../src/gpu/device.js';
import type { BenchResults, Machine } from './schema.js';
import type { TfjsReference } from './tfjs.js';
import { OMP_WAIT_POLICY, TORCH_THREADS, type TorchTwin } from './torch.js';

export function describeMachine(): Machine {
  const cpu = cpus();
  let os = `${type()} ${release()}`;
  if (existsSync('/etc/os-release')) {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) os = `${pretty} (${os})`;
  }
  return { cpu: cpu[0]?.model.trim() ?? 'unknown', cores: cpu.length, memoryGiB: totalmem() / 2 ** 30, os, note: process.env.WGRAD_BENCH_MACHINE ?? null, loadAverage: { start: loadAverage(), end: [] } };
}

export function adapterOf(device: Device): BenchResults['adapter'] {
  const { vendor, architecture, description } = device.adapterInfo;
  return { vendor: vendor ?? '', architecture: architecture ?? '', description: description ?? '' };
}

function packageVersion(name: string): string {
  try {
    const path = new URL(`../node_modules/${name}/package.json`, import.meta.url).pathname;
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

export function describeVersions(tfjs: TfjsReference | string, wasm: true | string, cpu: true | string, torch: TorchTwin | string): Record<string, string> {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url).pathname, 'utf8')) as { version: string };
  const skipped = (why: string) => `skipped: ${why}`;
  return {
    wgrad: own.version,
    node: process.version,
    'webgpu (Dawn for Node)': packageVersion('webgpu'),
    benny: packageVersion('benny'),
    'TF.js webgpu': typeof tfjs === 'string' ? skipped(tfjs) : tfjs.version,
    'TF.js wasm': wasm === true ? packageVersion('@tensorflow/tfjs-backend-wasm') : skipped(wasm),
    'TF.js cpu': cpu === true ? packageVersion('@tensorflow/tfjs-backend-cpu') : skipped(cpu),
    PyTorch: typeof torch === 'string' ? skipped(torch) : `${torch.version} (${torch.python}, ${TORCH_THREADS} threads, OMP_WAIT_POLICY=${OMP_WAIT_POLICY}${blasOf(torch)})`,
  };
}

/**
 * Which BLAS torch's matmul ends up in. Debian builds torch against the generic BLAS interface, so it
 * is whatever libblas.so.3 the alternatives system points at: the reference BLAS (~1 GFLOP/s) unless
 * an optimised one such as libopenblas0-pthread is installed (tens of GFLOP/s here).
 */
function blasOf(torch: TorchTwin): string {
  const script = 'import torch, os; print(torch.__config__.show()); print("LIBBLAS=" + os.path.realpath("/etc/alternatives/libblas.so.3-x86_64-linux-gnu"))';
  try {
    const info = execFileSync(torch.python, ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 });
    const blas = /BLAS_INFO=([^,\s]+)/.exec(info)?.[1];
    const lib = /LIBBLAS=(\S+)/.exec(info)?.[1];
    return `${blas ? `, BLAS_INFO=${blas}` : ''}${lib && existsSync(lib) ? `, libblas: ${lib}` : ''}`;
  } catch {
    return '';
  }
}

export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}

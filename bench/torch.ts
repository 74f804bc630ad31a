/**
 * PyTorch on the CPU as a benchmark reference, through the twin script bench/torch_twin.py.
 *
 * A suite asks for torch contenders while it builds its cases; the jobs are queued and the first
 * contender whose result is needed runs the whole queue in one python3 process (torch imports in
 * seconds, so once per suite, not per case). Inputs travel as raw little-endian files in a temporary
 * directory, next to a jobs.json; the twin writes each job's output (float32) and its timing samples
 * (seconds per iteration, after its own warm-up) back. Every output is checked against the float64
 * oracle by the harness before the samples are used, exactly like the in-process contenders.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SelfTimedContender } from './harness.js';

const TWIN = new URL('./torch_twin.py', import.meta.url).pathname;
/** torch uses both cores, as wgrad's lavapipe does. */
export const TORCH_THREADS = 2;

export interface TorchJob {
  kind: 'matmul' | 'attention' | 'layernorm' | 'cross_entropy' | 'adamw' | 'gpt_train' | 'gpt_generate';
  /** Iterations timed after `warmup` untimed ones; each runs the workload `units` times. */
  samples: number;
  warmup: number;
  units: number;
  [option: string]: unknown;
}

type Input = Float32Array | Int32Array;

interface JobOutcome {
  samples?: number[];
  wrong?: string;
  error?: string;
  note?: string;
}

/** The oracle's answer and tolerance: the twin refuses to time a result outside it. */
export interface TorchCheck {
  expected: Float64Array;
  rtol: number;
  atol: number;
}

interface Queued {
  id: string;
  job: TorchJob;
  inputs: Input[];
  check: TorchCheck;
  done: Promise<{ output: Float32Array; outcome: JobOutcome }> | null;
}

export class TorchTwin {
  private queue: Queued[] = [];
  private nextId = 0;
  /** Notes the twin attached to finished jobs (e.g. which attention implementation torch provides). */
  private readonly notes = new Set<string>();

  constructor(readonly python: string, readonly version: string) {}

  /** A contender that runs `job` on `inputs` in the twin; `units` as in the job. */
  contender(job: TorchJob, inputs: Input[], check: TorchCheck): SelfTimedContender {
    const q: Queued = { id: `j${this.nextId++}`, job, inputs, check, done: null };
    this.queue.push(q);
    const finished = async () => {
      if (!q.done) this.runQueue();
      const r = await q.done!;
      if (r.outcome.error) throw new Error(`torch: ${r.outcome.error}`);
      return r;
    };
    return {
      result: async () => (await finished()).output,
      samples: async () => {
        const { outcome } = await finished();
        if (outcome.wrong) throw new Error(`the twin refused to time a wrong result: ${outcome.wrong}`);
        return outcome.samples ?? [];
      },
      units: job.units,
    };
  }

  /** The notes of the jobs finished since the last call (so each suite reports its own). */
  takeNotes(): string[] {
    const out = [...this.notes];
    this.notes.clear();
    return out;
  }

  /** Runs every queued job not yet run in one python3 process. */
  private runQueue(): void {
    const batch = this.queue.filter((q) => !q.done);
    const dir = mkdtempSync(join(tmpdir(), 'wgrad-torch-'));
    const jobs = batch.map((q) => {
      const files = q.inputs.map((data, i) => {
        const file = `${q.id}.in${i}.bin`;
        writeFileSync(join(dir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        return { file, dtype: data instanceof Int32Array ? 'int32' : 'float32' };
      });
      writeFileSync(join(dir, `${q.id}.expected.bin`), Buffer.from(q.check.expected.buffer, q.check.expected.byteOffset, q.check.expected.byteLength));
      return { id: q.id, ...q.job, inputs: files, rtol: q.check.rtol, atol: q.check.atol };
    });
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify({ threads: TORCH_THREADS, jobs }));
    const run = new Promise<Record<string, JobOutcome>>((resolve, reject) => {
      execFile(this.python, [TWIN, dir], { maxBuffer: 1 << 24, env: twinEnvironment() }, (err, _stdout, stderr) => {
        try {
          if (err) throw new Error(`${err.message.split('\n')[0]} ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
          resolve(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Record<string, JobOutcome>);
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    for (const q of batch) {
      q.done = run.then((all) => {
        const outcome = all[q.id] ?? { error: 'the twin returned nothing for this job' };
        if (outcome.note) this.notes.add(outcome.note);
        const output = outcome.error ? new Float32Array(0) : new Float32Array(new Uint8Array(readFileSync(join(dir, `${q.id}.out.bin`))).buffer);
        return { output, outcome };
      });
    }
    // The directory goes once every job of the batch has read its output.
    void Promise.allSettled(batch.map((q) => q.done)).then(() => rmSync(dir, { recursive: true, force: true }));
  }
}

/**
 * OpenMP's default (active) wait policy makes torch's threads spin between ops; when the two cores
 * are shared with anything else, that collapses its throughput (measured here: 18–35 generated
 * tokens/s with spinning, ~1,300 passive). PASSIVE gives torch its best figure on a shared machine;
 * a caller's own OMP_WAIT_POLICY wins.
 */
export const OMP_WAIT_POLICY = process.env.OMP_WAIT_POLICY ?? 'PASSIVE';

function twinEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env, OMP_WAIT_POLICY };
}

/**
 * Finds a python3 that imports torch: $WGRAD_PYTHON, then `python3` on the PATH, then Debian's
 * /usr/bin/python3 (where `apt-get install python3-torch` puts it, which a pyenv shim may shadow).
 * Returns the twin, or why PyTorch is skipped.
 */
export function findTorch(): TorchTwin | string {
  const candidates = [process.env.WGRAD_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const python of [...new Set(candidates)]) {
    try {
      const version = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 }).trim();
      return new TorchTwin(python, version);
    } catch {
      tried.push(python);
    }
  }
  return `torch is not importable from ${tried.join(', ')} (install python3-torch, or point WGRAD_PYTHON at a python with torch)`;
}

/** Learning-rate schedules: functions from the step (0-based) to the learning rate. */
import { ValueError } from '../errors.js';

/** A learning rate as a function of the step number. */
export type Schedule = (step: number) => number;

/** The same learning rate at every step. */
export function constant(lr: number): Schedule {
  return () => lr;
}

/**
 * Linear warmup from 0 to `lr` over `warmup` steps, then cosine decay to `minLr` at `total` steps,
 * and `minLr` after (nanoGPT's schedule).
 */
export function warmupCosine({ lr, minLr = lr / 10, warmup, total }: { lr: number; minLr?: number; warmup: number; total: number }): Schedule {
  if (!(warmup >= 0 && total >= 0)) throw new ValueError('warmupCosine', `warmup ${warmup} and total ${total} steps must be ≥ 0`, 'use whole numbers of steps');
  return (step) => {
    if (step < warmup) return (lr * (step + 1)) / (warmup + 1);
    if (step >= total) return minLr;
    const progress = (step - warmup) / Math.max(1, total - warmup);
    return minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - minLr);
  };
}

/**
 * A seeded random number generator (xoshiro128**, seeded through splitmix32). Its whole state is four
 * u32 words, so it can be saved in a checkpoint and restored exactly.
 */
export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  constructor(seed = 0) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** A uniformly distributed u32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1), with 24 bits (exactly representable in float32). */
  uniform(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  get state(): number[] {
    return [...this.s, this.spare === null ? NaN : this.spare];
  }

  set state(v: readonly number[]) {
    this.s = Uint32Array.from(v.slice(0, 4));
    const spare = v[4];
    // JSON turns the NaN that marks "no spare" into null; accept both.
    this.spare = typeof spare === 'number' && !Number.isNaN(spare) ? spare : null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

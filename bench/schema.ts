/**
 * The results file `wgrad bench` writes (results.json), as TypeScript types and as a JSON Schema, so
 * that runs on different machines and commits can be compared (`wgrad bench --compare A.json B.json`).
 * bench/README.md explains each field in prose; a change to the shape bumps SCHEMA_ID.
 */

export const SCHEMA_ID = 'wgrad-bench/1';

/** A figure's direction: GFLOP/s and tokens/s are better higher, ms/step lower. */
export type Better = 'lower' | 'higher';

export type Outcome =
  | {
      status: 'timed';
      /** The reported figure (in the row's unit) from the median time per unit of work. */
      figure: number;
      /** The figures of the fastest and the slowest sample. */
      best: number;
      worst: number;
      /** Median seconds per timed iteration; an iteration runs `units` units of work. */
      medianSeconds: number;
      units: number;
      samples: number;
      sampleSeconds: number[];
    }
  | { status: 'wrong'; reason: string }
  | { status: 'skipped'; reason: string };

export interface Row {
  case: string;
  unit: string;
  better: Better;
  /** Decimals tables show. */
  digits: number;
  wgrad: Outcome;
  references: Record<string, Outcome>;
  /** Per reference: wgrad's performance over the reference's (> 1: wgrad faster), or null when either was not timed. */
  speedup: Record<string, number | null>;
  /** Set on scaling rows: the kernel (series) and the size that grows (N for matmul, T for attention). */
  scaling?: { series: string; parameter: string; size: number };
}

export interface SuiteResult {
  name: string;
  title: string;
  /** Reference ids (keys of Row.references) → labels for tables. */
  references: Record<string, string>;
  /** What a reader needs to interpret the rows (workload definitions, why a reference is missing). */
  notes: string[];
  rows: Row[];
  /** Suite-specific facts (shapes, tile sizes, memory peaks). */
  environment: Record<string, unknown>;
  /** Seconds the suite took. */
  seconds: number;
  /** Set when the whole suite could not run. */
  error?: string;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  /** Free text from WGRAD_BENCH_MACHINE (e.g. "CI runner, 2 vCPU, shared"). */
  note: string | null;
  /** The 1, 5 and 15 minute load averages when the run started and ended: other work on the cores skews every figure. */
  loadAverage: { start: number[]; end: number[] };
}

export interface BenchResults {
  schema: typeof SCHEMA_ID;
  date: string;
  commit: string | null;
  quick: boolean;
  command: string;
  machine: Machine;
  adapter: { vendor: string; architecture: string; description: string };
  /** Versions of everything measured; a string starting "skipped: " says why a reference is absent. */
  versions: Record<string, string>;
  suites: SuiteResult[];
}

const outcome = {
  oneOf: [
    {
      type: 'object',
      required: ['status', 'figure', 'best', 'worst', 'medianSeconds', 'units', 'samples', 'sampleSeconds'],
      properties: {
        status: { const: 'timed' },
        figure: { type: 'number' },
        best: { type: 'number' },
        worst: { type: 'number' },
        medianSeconds: { type: 'number', minimum: 0 },
        units: { type: 'number', exclusiveMinimum: 0 },
        samples: { type: 'integer', minimum: 1 },
        sampleSeconds: { type: 'array', items: { type: 'number' } },
      },
    },
    { type: 'object', required: ['status', 'reason'], properties: { status: { enum: ['wrong', 'skipped'] }, reason: { type: 'string' } } },
  ],
} as const;

/** The same shape as a JSON Schema (draft 2020-12), for tools outside this repository. */
export const RESULTS_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: SCHEMA_ID,
  title: 'wgrad bench results',
  type: 'object',
  required: ['schema', 'date', 'commit', 'quick', 'command', 'machine', 'adapter', 'versions', 'suites'],
  properties: {
    schema: { const: SCHEMA_ID },
    date: { type: 'string', format: 'date-time' },
    commit: { type: ['string', 'null'] },
    quick: { type: 'boolean' },
    command: { type: 'string' },
    machine: {
      type: 'object',
      required: ['cpu', 'cores', 'memoryGiB', 'os', 'note', 'loadAverage'],
      properties: {
        cpu: { type: 'string' },
        cores: { type: 'integer' },
        memoryGiB: { type: 'number' },
        os: { type: 'string' },
        note: { type: ['string', 'null'] },
        loadAverage: {
          type: 'object',
          required: ['start', 'end'],
          properties: { start: { type: 'array', items: { type: 'number' } }, end: { type: 'array', items: { type: 'number' } } },
        },
      },
    },
    adapter: { type: 'object', required: ['vendor', 'architecture', 'description'], properties: { vendor: { type: 'string' }, architecture: { type: 'string' }, description: { type: 'string' } } },
    versions: { type: 'object', additionalProperties: { type: 'string' } },
    suites: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'title', 'references', 'notes', 'rows', 'environment', 'seconds'],
        properties: {
          name: { type: 'string' },
          title: { type: 'string' },
          references: { type: 'object', additionalProperties: { type: 'string' } },
          notes: { type: 'array', items: { type: 'string' } },
          environment: { type: 'object' },
          seconds: { type: 'number' },
          error: { type: 'string' },
          rows: {
            type: 'array',
            items: {
              type: 'object',
              required: ['case', 'unit', 'better', 'digits', 'wgrad', 'references', 'speedup'],
              properties: {
                case: { type: 'string' },
                unit: { type: 'string' },
                better: { enum: ['lower', 'higher'] },
                digits: { type: 'integer', minimum: 0 },
                wgrad: outcome,
                references: { type: 'object', additionalProperties: outcome },
                speedup: { type: 'object', additionalProperties: { type: ['number', 'null'] } },
                scaling: {
                  type: 'object',
                  required: ['series', 'parameter', 'size'],
                  properties: { series: { type: 'string' }, parameter: { type: 'string' }, size: { type: 'number' } },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

/**
 * Checks a parsed results file against RESULTS_JSON_SCHEMA (the subset of JSON Schema it uses) and
 * returns the problems found, each with its JSON path; an empty list means it conforms.
 */
export function schemaProblems(value: unknown): string[] {
  const problems: string[] = [];
  check(value, RESULTS_JSON_SCHEMA as unknown as Schema, '$', problems);
  return problems;
}

interface Schema {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema;
  items?: Schema;
  oneOf?: Schema[];
  minimum?: number;
  exclusiveMinimum?: number;
}

function check(v: unknown, s: Schema, path: string, out: string[]): void {
  if (s.oneOf) {
    const fits = s.oneOf.filter((option) => {
      const sub: string[] = [];
      check(v, option, path, sub);
      return sub.length === 0;
    });
    if (fits.length !== 1) out.push(`${path}: matches ${fits.length} of the ${s.oneOf.length} allowed forms`);
    return;
  }
  if (s.const !== undefined && v !== s.const) out.push(`${path}: expected ${JSON.stringify(s.const)}, got ${JSON.stringify(v)}`);
  if (s.enum && !s.enum.includes(v)) out.push(`${path}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => hasType(v, t))) {
      out.push(`${path}: expected ${types.join(' or ')}, got ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`);
      return;
    }
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < s.minimum) out.push(`${path}: ${v} < ${s.minimum}`);
    if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) out.push(`${path}: ${v} ≤ ${s.exclusiveMinimum}`);
  }
  if (Array.isArray(v) && s.items) v.forEach((item, i) => check(item, s.items!, `${path}[${i}]`, out));
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    const obj = v as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in obj)) out.push(`${path}: missing "${key}"`);
    for (const [key, value] of Object.entries(obj)) {
      const sub = s.properties?.[key] ?? s.additionalProperties;
      if (sub) check(value, sub, `${path}.${key}`, out);
    }
  }
}

function hasType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null': return v === null;
    case 'array': return Array.isArray(v);
    case 'object': return v !== null && typeof v === 'object' && !Array.isArray(v);
    case 'integer': return Number.isInteger(v);
    case 'number': return typeof v === 'number' && Number.isFinite(v);
    default: return typeof v === t;
  }
}

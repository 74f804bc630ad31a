/**
 * The demo page: acquires a device (or says clearly why it cannot), then wires the panels: corpus,
 * training with a live loss chart, generation, checkpoint loading, validation loss, micro-benchmark.
 * One action runs at a time; every failure is shown in the page with the library's typed message.
 * `window.wgradDemo` exposes the state the browser tests read (losses, last validation loss).
 */
import { WgradError, init, type Device, type GPT, type Tokenizer } from 'wgrad';
import { LossChart } from './chart.js';
import { loadPickedCheckpoint } from './checkpoint.js';
import { runBenchmark } from './bench.js';
import { numberField, sampleText, trainOnText, validationLoss } from './training.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

interface Current {
  model: GPT;
  tokenizer: Tokenizer;
  /** Disposes the model (and the trainer's optimizer when it was trained here). */
  dispose(): void;
  origin: string;
}

const chart = new LossChart($<HTMLCanvasElement>('loss-chart'));
const state = {
  busy: false,
  stopRequested: false,
  current: null as Current | null,
  lastValLoss: null as number | null,
  generated: '',
  chart,
};
(window as unknown as { wgradDemo: typeof state }).wgradDemo = state;

const ACTIONS = ['train', 'generate', 'evaluate', 'bench', 'ckpt-files', 'ckpt-dir'];
let device: Device | null = null;
let embeddedCorpus: Promise<string> | null = null;
let seed = 1337;

function refreshButtons(): void {
  for (const id of ACTIONS) $<HTMLButtonElement | HTMLInputElement>(id).disabled = !device || state.busy || ((id === 'generate' || id === 'evaluate') && !state.current);
  $<HTMLButtonElement>('stop').disabled = !state.busy || state.stopRequested;
}

function showMessage(err: unknown): void {
  const box = $('message');
  box.hidden = false;
  box.textContent = err instanceof WgradError ? `${err.name} in ${err.message}` : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  console.error(err);
}

/** Runs one action at a time, showing its failure (if any) in the page. */
async function action(fn: () => Promise<void>): Promise<void> {
  if (state.busy || !device) return;
  state.busy = true;
  state.stopRequested = false;
  $('message').hidden = true;
  refreshButtons();
  try {
    await fn();
  } catch (err) {
    showMessage(err);
  } finally {
    state.busy = false;
    refreshButtons();
  }
}

async function corpus(): Promise<string> {
  const pasted = document.querySelector<HTMLInputElement>('input[name=corpus][value=pasted]')!.checked;
  let text: string;
  if (pasted) {
    text = $<HTMLTextAreaElement>('corpus-text').value;
    if (text.length === 0) throw new WgradError('demo', 'the pasted corpus is empty', 'paste a text into the box, or choose Tiny Shakespeare');
  } else {
    embeddedCorpus ??= fetch('data/tinyshakespeare.txt').then(async (r) => {
      if (!r.ok) throw new WgradError('demo', `fetching data/tinyshakespeare.txt failed (HTTP ${r.status})`, 'serve the page with `npm run demo:web`, which also serves data/');
      return r.text();
    });
    text = await embeddedCorpus.catch((err) => {
      embeddedCorpus = null;
      throw err;
    });
  }
  $('corpus-status').textContent = `${text.length.toLocaleString()} characters`;
  return text;
}

function useModel(next: Current): void {
  state.current?.dispose();
  state.current = next;
  const c = next.model.config;
  $('model-status').textContent = `${next.origin}: ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, context ${c.blockSize}, vocabulary ${c.vocabSize}, ${next.model.numParameters().toLocaleString()} parameters`;
}

function train(): Promise<void> {
  return action(async () => {
    const text = await corpus();
    const settings = {
      nLayer: numberField(input('n-layer'), 'layers'),
      nHead: numberField(input('n-head'), 'heads'),
      nEmbd: numberField(input('n-embd'), 'width'),
      blockSize: numberField(input('block-size'), 'context'),
      batchSize: numberField(input('batch-size'), 'batch'),
      iters: numberField(input('iters'), 'steps'),
      lr: numberField(input('lr'), 'learning rate', false),
    };
    chart.reset(settings.iters);
    const status = $('train-status');
    status.textContent = 'compiling kernels and starting…';
    let lastVal = '';
    const { trainer, tokenizer } = await trainOnText(device!, text, settings, {
      onStep: (info) => {
        chart.addTrain(info.step, info.loss);
        status.textContent = `step ${info.step} / ${settings.iters}: loss ${info.loss.toFixed(4)}${lastVal}, ${Math.round(info.tokensPerSecond).toLocaleString()} tokens/s`;
      },
      onEval: (step, losses) => {
        chart.addVal(step, losses.val);
        lastVal = `, validation ${losses.val.toFixed(4)}`;
      },
      shouldStop: () => state.stopRequested,
    });
    status.textContent += state.stopRequested ? ' (stopped)' : ' (done)';
    useModel({ model: trainer.model, tokenizer, dispose: () => trainer.dispose(), origin: `trained here for ${trainer.step} steps` });
  });
}

function generateText(): Promise<void> {
  return action(async () => {
    const { model, tokenizer } = state.current!;
    const temperature = Number(input('temperature').value);
    if (!(temperature >= 0)) throw new WgradError('demo', `temperature '${input('temperature').value}' is not a number ≥ 0`, 'use 0 (greedy) to about 1.2');
    const out = $('generated');
    state.generated = await sampleText(model, tokenizer, input('prompt').value, numberField(input('gen-tokens'), 'tokens'), temperature, seed++, (text) => (out.textContent = text));
  });
}

function evaluate(): Promise<void> {
  return action(async () => {
    const { model, tokenizer } = state.current!;
    const result = await validationLoss(model, tokenizer, await corpus());
    state.lastValLoss = result.loss;
    $('model-status').dataset.valLoss = String(result.loss);
    $('ckpt-status').textContent = `validation loss ${result.loss.toFixed(6)} over ${result.tokens.toLocaleString()} predicted tokens (perplexity ${Math.exp(result.loss).toFixed(2)})`;
  });
}

function loadCheckpoint(picker: HTMLInputElement): Promise<void> {
  return action(async () => {
    if (!picker.files || picker.files.length === 0) return;
    const ck = await loadPickedCheckpoint(picker.files, device!);
    picker.value = '';
    useModel({ model: ck.model, tokenizer: ck.tokenizer, dispose: () => ck.model.dispose(), origin: 'loaded checkpoint' });
    $('ckpt-status').textContent = 'checkpoint loaded; generate from it, or compute its validation loss on the corpus';
  });
}

function benchmark(): Promise<void> {
  return action(async () => {
    const body = $('bench-table').querySelector('tbody')!;
    body.replaceChildren();
    $('bench-status').textContent = 'running (each kernel is checked against the float64 oracle first)…';
    await runBenchmark(device!, (r) => {
      const tr = body.insertRow();
      const cells = [r.kernel, r.shape, r.gpuMs === null ? '—' : `${r.gpuMs.toFixed(3)} ms`, r.throughput, `${r.oracleMs.toFixed(1)} ms`, r.gpuMs === null ? '—' : `${(r.oracleMs / r.gpuMs).toFixed(1)}×`, r.maxError.toExponential(1)];
      for (const text of cells) tr.insertCell().textContent = text;
    });
    $('bench-status').textContent = 'medians of 5 samples; speed-up is against the float64 oracle on this CPU';
  });
}

async function boot(): Promise<void> {
  const status = $('device-status');
  try {
    device = await init();
    const info = device.adapterInfo;
    const limit = Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize);
    status.textContent = `WebGPU device: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' · ') || 'unnamed adapter'}; largest buffer ${(limit / 2 ** 20).toFixed(0)} MiB`;
  } catch (err) {
    status.classList.add('error');
    status.textContent = err instanceof Error ? err.message : String(err);
  }
  status.dataset.ready = device ? 'yes' : 'no';
  refreshButtons();
}

$('train').addEventListener('click', () => void train());
$('stop').addEventListener('click', () => {
  state.stopRequested = true;
  refreshButtons();
});
$('generate').addEventListener('click', () => void generateText());
$('evaluate').addEventListener('click', () => void evaluate());
$('bench').addEventListener('click', () => void benchmark());
for (const id of ['ckpt-files', 'ckpt-dir']) input(id).addEventListener('change', () => void loadCheckpoint(input(id)));
refreshButtons();
void boot();

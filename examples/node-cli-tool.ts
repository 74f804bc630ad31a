/**
 * Embedding wgrad in a Node command-line tool: `fit-curve` fits a two-layer MLP to y = sin(3x) on the
 * GPU and reports the loss. It shows what a tool around wgrad has to get right:
 *  - one explicit device from `init()`, passed to everything it creates, destroyed at the end so that
 *    Node exits on its own (Dawn keeps the process alive while a device exists);
 *  - memory: each training step runs inside `scope()`, so its temporaries are freed and
 *    `device.memory()` stays flat step after step (the tool checks it and says so);
 *  - errors: wgrad throws typed errors (`WgradError` subclasses) whose message names the op and ends
 *    with a HINT; a tool prints that message and exits with a code of its own, without a stack trace.
 *
 * Run: npx tsx examples/node-cli-tool.ts --steps 200 --hidden 32 [--json]
 */
import { parseArgs } from 'node:util';
import { AdamW, Linear, Module, Rng, WgradError, init, mean, relu, scope, square, sub, tensor, type Device, type Tensor } from 'wgrad';

/** Linear → ReLU → Linear, from one input to one output. */
class CurveModel extends Module {
  private readonly hiddenLayer: Linear;
  private readonly outputLayer: Linear;

  constructor(hidden: number, device: Device, rng: Rng) {
    super();
    this.hiddenLayer = this.module('hidden', new Linear(1, hidden, { device, rng }));
    this.outputLayer = this.module('output', new Linear(hidden, 1, { device, rng }));
  }

  forward(x: Tensor): Tensor {
    return this.outputLayer.forward(relu(this.hiddenLayer.forward(x)));
  }
}

interface FitResult {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  /** Live tensors after the first and after the last step: equal when no step leaks. */
  liveTensors: [number, number];
  milliseconds: number;
}

async function fit(device: Device, steps: number, hidden: number, lr: number, points: number): Promise<FitResult> {
  const rng = new Rng(7);
  const xs = Float32Array.from({ length: points }, (_, i) => -1 + (2 * i) / (points - 1));
  const x = tensor(xs, [points, 1], { device });
  const y = tensor(xs.map((v) => Math.sin(3 * v)), [points, 1], { device });
  const model = new CurveModel(hidden, device, rng);
  const optimizer = new AdamW(model, { lr, weightDecay: 0 });
  const start = performance.now();
  let firstLoss = NaN;
  let lastLoss = NaN;
  const live: [number, number] = [0, 0];
  for (let step = 0; step < steps; step++) {
    // Everything created inside is freed when scope() returns, except the returned loss.
    const loss = scope(() => {
      const l = mean(square(sub(model.forward(x), y)));
      l.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return l;
    });
    // Reading a value waits for the GPU; a real tool would read every few steps only.
    if (step === 0 || step === steps - 1) {
      const value = await loss.item();
      if (step === 0) {
        firstLoss = value;
        live[0] = device.memory().tensors;
      }
      lastLoss = value;
      live[1] = device.memory().tensors;
    }
    loss.dispose();
  }
  const milliseconds = performance.now() - start;
  model.dispose();
  x.dispose();
  y.dispose();
  return { steps, firstLoss, lastLoss, liveTensors: live, milliseconds };
}

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      steps: { type: 'string', default: '200' },
      hidden: { type: 'string', default: '32' },
      lr: { type: 'string', default: '0.01' },
      points: { type: 'string', default: '64' },
      json: { type: 'boolean', default: false },
    },
  });
  return { steps: Number(values.steps), hidden: Number(values.hidden), lr: Number(values.lr), points: Number(values.points), json: values.json };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const device = await init();
  try {
    const result = await fit(device, options.steps, options.hidden, options.lr, options.points);
    if (options.json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`${result.steps} steps in ${result.milliseconds.toFixed(0)} ms: loss ${result.firstLoss.toFixed(4)} → ${result.lastLoss.toFixed(4)}`);
      console.log(result.liveTensors[0] === result.liveTensors[1] ? 'memory: flat across steps' : `memory: grew from ${result.liveTensors[0]} to ${result.liveTensors[1]} tensors`);
    }
    return 0;
  } catch (err) {
    // wgrad's own errors carry the op, the shapes and a HINT: print them as the tool's message.
    if (err instanceof WgradError) {
      console.error(`fit-curve: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    device.destroy();
  }
}

process.exitCode = await main();

/**
 * The live loss chart: training loss at every step as a line, validation loss as dots, on a canvas.
 * Redrawn whole on every point (a few hundred points cost nothing next to a training step).
 */
export class LossChart {
  private train: [step: number, loss: number][] = [];
  private val: [step: number, loss: number][] = [];
  private maxStep = 1;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.draw();
  }

  reset(totalSteps: number): void {
    this.train = [];
    this.val = [];
    this.maxStep = Math.max(1, totalSteps);
    this.draw();
  }

  addTrain(step: number, loss: number): void {
    this.train.push([step, loss]);
    this.draw();
  }

  addVal(step: number, loss: number): void {
    this.val.push([step, loss]);
    this.draw();
  }

  /** What is plotted, for tests and for anyone who wants the numbers. */
  get points(): { train: number[]; val: [number, number][] } {
    return { train: this.train.map(([, l]) => l), val: this.val.map(([s, l]) => [s, l]) };
  }

  private draw(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const pad = { left: 56, right: 16, top: 14, bottom: 34 };
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    ctx.clearRect(0, 0, width, height);
    ctx.font = '12px system-ui, sans-serif';
    const losses = [...this.train, ...this.val].map(([, l]) => l).filter(Number.isFinite);
    const hi = losses.length ? Math.max(...losses) : 5;
    const lo = losses.length ? Math.min(...losses) : 0;
    const span = Math.max(hi - lo, 0.1);
    const [yMin, yMax] = [Math.max(0, lo - 0.05 * span), hi + 0.05 * span];
    const x = (step: number) => pad.left + (step / this.maxStep) * plotW;
    const y = (loss: number) => pad.top + (1 - (loss - yMin) / (yMax - yMin)) * plotH;

    ctx.strokeStyle = '#d8dde3';
    ctx.fillStyle = '#5b6570';
    ctx.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const v = yMin + ((yMax - yMin) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, y(v));
      ctx.lineTo(width - pad.right, y(v));
      ctx.stroke();
      ctx.fillText(v.toFixed(2), 8, y(v) + 4);
    }
    for (let i = 0; i <= 5; i++) {
      const step = Math.round((this.maxStep * i) / 5);
      ctx.fillText(String(step), x(step) - 8, height - pad.bottom + 18);
    }
    ctx.fillText('step', width - pad.right - 28, height - 4);
    ctx.save();
    ctx.translate(14, pad.top + plotH / 2 + 12);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText('loss', 0, 0);
    ctx.restore();

    ctx.strokeStyle = '#2563eb';
    ctx.lineWidth = 1.75;
    ctx.beginPath();
    this.train.forEach(([s, l], i) => (i === 0 ? ctx.moveTo(x(s), y(l)) : ctx.lineTo(x(s), y(l))));
    ctx.stroke();
    ctx.fillStyle = '#e8590c';
    for (const [s, l] of this.val) {
      ctx.beginPath();
      ctx.arc(x(s), y(l), 4.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

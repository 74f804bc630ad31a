/** Autograd: importing this module installs the tape and every gradient rule. */
import './grads/elementwise.js';
import './grads/shape.js';
import './grads/norm.js';
import './grads/loss.js';
import './grads/matmul.js';
import './grads/attention.js';
import { Tensor } from '../tensor/tensor.js';
import { backward } from './tape.js';

export { backward, noGrad, isGradEnabled } from './tape.js';
export { registerGradient, type GradientRule, type BackwardContext, type SaveContext } from './registry.js';
export { gradcheck, GradcheckError, type GradcheckCase, type GradcheckOptions, type GradcheckReport } from './gradcheck.js';

declare module '../tensor/tensor.js' {
  interface Tensor {
    /** Back-propagate from this tensor (a scalar, or pass a gradient of its shape). */
    backward(gradient?: Tensor): void;
    /** A view of the same storage that is not part of the graph and requires no grad. */
    detach(): Tensor;
  }
}

Tensor.prototype.backward = function (this: Tensor, gradient?: Tensor) {
  backward(this, gradient);
};
Tensor.prototype.detach = function (this: Tensor) {
  return this.view(this.shape, 'detach');
};

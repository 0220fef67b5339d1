"""RMSProp as TensorFlow computes it: the optimizer the paper's numbers come from.

The paper trains with ``tf.train.RMSPropOptimizer(lr, decay=0.9, momentum=0.9, epsilon=1e-3)``
(tensorflow/tpu, models/official/efficientnet/utils.py, `build_optimizer`). PyTorch's
`torch.optim.RMSprop` with the same numbers is a different optimizer in three ways:

1. **epsilon inside the square root**: TF divides by sqrt(v + eps), PyTorch by sqrt(v) + eps.
   With eps = 1e-3, TF's floor on the denominator is sqrt(1e-3) ~ 0.03, PyTorch's 0.001, so
   for parameters with small gradients PyTorch's step is up to 30 times larger;
2. **the mean square starts at 1**, not 0: PyTorch's first steps divide by sqrt((1 - decay) g^2),
   about 3 times the gradient's own size, whatever the gradient, so they are huge;
3. **the learning rate goes into the momentum buffer**: TF accumulates lr * g / sqrt(v + eps), so
   a change of the rate (warm-up, decay) acts on new gradients only, while PyTorch multiplies
   the whole buffer by today's rate.

`RMSpropTF` implements TF's rule in a few lines; a test checks it update for update against
timm's port of the same optimizer (`timm.optim.RMSpropTF`). Weight decay here is the paper's L2
term added to the gradient (TF adds it to the loss).
"""

from __future__ import annotations

import torch

from ..errors import ParameterError

__all__ = ["RMSpropTF"]


class RMSpropTF(torch.optim.Optimizer):
    """v <- v + (1 - decay) (g^2 - v);  m <- momentum * m + lr * g / sqrt(v + eps);  p <- p - m."""

    def __init__(
        self, params, lr: float, decay: float = 0.9, momentum: float = 0.9, eps: float = 1e-3, weight_decay: float = 0.0
    ):
        if lr < 0 or eps < 0 or not 0 <= decay < 1 or momentum < 0 or weight_decay < 0:
            raise ParameterError(
                f"RMSpropTF: invalid lr={lr}, decay={decay}, momentum={momentum}, eps={eps}, "
                f"weight_decay={weight_decay}"
            )
        super().__init__(params, dict(lr=lr, decay=decay, momentum=momentum, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if group["weight_decay"]:
                    g = g.add(p, alpha=group["weight_decay"])
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.ones_like(p)  # TF's initial mean square
                    state["momentum_buffer"] = torch.zeros_like(p)
                v, m = state["square_avg"], state["momentum_buffer"]
                v.add_(g * g - v, alpha=1 - group["decay"])
                m.mul_(group["momentum"]).addcdiv_(g, (v + group["eps"]).sqrt_(), value=group["lr"])
                p.sub_(m)
        return loss

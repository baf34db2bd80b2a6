"""The machinery of ``ganlab.sweep``: N small MLPs, their Adams and their draws, as batched tensors.

The weights of N members are stacked along a leading member axis, ``W: (N, out, in)``, so one
layer of every member is one batched product ``x @ Wᵀ + b`` on ``x: (N, B, in)``
(``torch.baddbmm``, :class:`StackedMLP`). Adam is elementwise, so one Adam over the stacked
weights, with a step size per member, is N separate Adams (:class:`BatchedAdam`, bit for bit).
Each member draws its noise and data from its own ``torch.Generator``, in the order and with the
numbers a single run would (:func:`noise_members`, :func:`sample_members`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from .mixtures import GaussianMixture


class StackedMLP:
    """``N`` MLPs of one architecture (the ``.net`` of ``MLPGenerator`` / ``MLPDiscriminator``),
    weights stacked.

    Layer ``j`` holds ``weights[j]: (N, out, in)`` (``nn.Linear``'s layout, one slice per member)
    and ``biases[j]: (N, 1, out)``; calling it maps ``x: (N, B, in)`` to ``(N, B, out)``, member
    ``i``'s slice through member ``i``'s network.
    """

    def __init__(self, modules: Sequence[nn.Module], device: torch.device):
        nets = [m.net for m in modules]
        if len({str(net) for net in nets}) != 1:
            raise ValueError(
                "every member's network must have the same architecture; got "
                + " and ".join(sorted({str(net) for net in nets})[:2])
            )
        self.weights: list[torch.Tensor] = []
        self.biases: list[torch.Tensor] = []
        self.activations: list[nn.Module | None] = []  # applied after layer j, elementwise
        for j, layer in enumerate(nets[0]):
            if isinstance(layer, nn.Linear):
                self.weights.append(self._stack([net[j].weight for net in nets], device))
                self.biases.append(self._stack([net[j].bias[None] for net in nets], device))
                self.activations.append(None)
            elif not list(layer.parameters()) and self.activations and self.activations[-1] is None:
                self.activations[-1] = copy.deepcopy(layer)  # ReLU / LeakyReLU act on any shape
            else:
                raise ValueError(
                    f"cannot stack layer {layer!r}: expected Linear layers, each followed by "
                    "at most one parameter-free activation"
                )

    @staticmethod
    def _stack(tensors, device) -> torch.Tensor:
        return torch.stack([t.detach() for t in tensors]).to(device).requires_grad_(True)

    @property
    def size(self) -> int:
        """The number of members N."""
        return self.weights[0].shape[0]

    def parameters(self) -> list[torch.Tensor]:
        """The stacked leaf tensors, weights then biases of each layer in turn."""
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for W, b, activation in zip(self.weights, self.biases, self.activations):
            x = torch.baddbmm(b, x, W.transpose(1, 2))  # (N, B, out) = b + x @ Wᵀ, member by member
            if activation is not None:
                x = activation(x)
        return x

    @torch.no_grad()
    def copy_to(self, i: int, module: nn.Module) -> nn.Module:
        """Write member ``i``'s weights into ``module`` (an MLP of the same architecture); return
        it.
        """
        linears = [layer for layer in module.net if isinstance(layer, nn.Linear)]
        for layer, W, b in zip(linears, self.weights, self.biases):
            layer.weight.copy_(W[i])
            layer.bias.copy_(b[i, 0])
        return module


class BatchedAdam:
    """Adam on stacked parameters ``(N, a, b)``: one step size per member, and a mask of who
    updates.

    The arithmetic is that of ``torch.optim.Adam`` (its default single-tensor form on a CPU), op
    for op: the bias corrections are computed in double precision from each member's own step
    count, as ``torch.optim.Adam`` does in Python, so a member's update is bit for bit a separate
    Adam's (tested).
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        lr: Sequence[float],
        betas=(0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params, self.lr, self.betas, self.eps = (
            list(params),
            [float(v) for v in lr],
            betas,
            eps,
        )
        n = self.params[0].shape[0]
        if any(p.ndim != 3 or p.shape[0] != n for p in self.params):
            raise ValueError(
                f"parameters must be stacked as (N, a, b) with one N, got "
                f"{[tuple(p.shape) for p in self.params]}"
            )
        if len(self.lr) != n:
            raise ValueError(f"got {len(self.lr)} step sizes for {n} members")
        self.steps = np.zeros(n, dtype=np.int64)  # updates taken by each member
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def _per_member(self, values) -> torch.Tensor:
        """Doubles, one per member, rounded to float32 as ``(N, 1, 1)``: it broadcasts over every
        parameter.
        """
        return (
            torch.tensor(values, dtype=torch.float64)
            .to(self.params[0].device, torch.float32)
            .view(-1, 1, 1)
        )

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], active: np.ndarray | None = None) -> None:
        """Update the members with ``active[i]`` true (all when ``active`` is None) using
        ``grads``.
        """
        self.steps += 1 if active is None else active
        beta1, beta2 = self.betas
        # m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ): torch folds the first into the step size lr / (1 −
        # β1ᵗ).
        neg_step = self._per_member(
            [-lr / (1 - beta1 ** float(t)) if t else 0.0 for lr, t in zip(self.lr, self.steps)]
        )
        bc2_sqrt = self._per_member(
            [(1 - beta2 ** float(t)) ** 0.5 if t else 1.0 for t in self.steps]
        )
        params, m, v = self.params, self.exp_avg, self.exp_avg_sq
        if (
            active is not None
        ):  # compute every member's update on copies, then keep the active ones'
            params, m, v = ([t.clone() for t in ts] for ts in (params, m, v))
        # One call per operation over all the tensors (torch._foreach_*) rather than one per tensor.
        torch._foreach_lerp_(m, grads, 1 - beta1)
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, [bc2_sqrt] * len(denom))
        torch._foreach_add_(denom, self.eps)
        # θ ← θ − lr_i/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε), in addcdiv's order: (value·m) / denom.
        torch._foreach_addcdiv_(params, torch._foreach_mul(m, [neg_step] * len(m)), denom)
        if active is not None:
            keep = torch.as_tensor(active, device=neg_step.device).view(-1, 1, 1)
            for olds, news in ((self.params, params), (self.exp_avg, m), (self.exp_avg_sq, v)):
                for old, new in zip(olds, news):
                    old.copy_(torch.where(keep, new, old))


def noise_members(rows: int, latent_dim: int, gens, active: np.ndarray) -> torch.Tensor:
    """``(N, rows, latent_dim)``: each active member's noise from its own generator, zeros for the
    others.
    """
    device = gens[0].device
    blank = None if active.all() else torch.zeros(rows, latent_dim, device=device)
    return torch.stack(
        [
            torch.randn(rows, latent_dim, generator=gen, device=device) if on else blank
            for gen, on in zip(gens, active)
        ]
    )


def sample_members(mixture: GaussianMixture, rows: int, gens, active: np.ndarray) -> torch.Tensor:
    """``torch.stack([mixture.sample(rows, gen) for gen in gens])``: ``(N, rows, dim)``, the same
    numbers.

    ``GaussianMixture.sample`` draws a component per row (``multinomial``), then unit noise
    (``randn``), from ``gen``; only those two draws need a member's own generator, so the rest is
    done once for all members, faster than N calls of ``sample``. A member with
    ``active[i]`` false draws nothing; its rows are placeholders.
    """
    device = gens[0].device
    weights, centers, stds = (
        t.to(device, torch.float32) for t in (mixture.weights, mixture.centers, mixture.stds)
    )
    idx, noise = [], []
    for gen, on in zip(gens, active):
        if on:
            idx.append(torch.multinomial(weights, rows, replacement=True, generator=gen))  # (rows,)
            noise.append(
                torch.randn(rows, mixture.dim, generator=gen, device=device)
            )  # (rows, dim)
        else:
            idx.append(torch.zeros(rows, dtype=torch.long, device=device))
            noise.append(torch.zeros(rows, mixture.dim, device=device))
    idx = torch.stack(idx)  # (N, rows)
    return centers[idx] + stds[idx, None] * torch.stack(noise)  # as in GaussianMixture.sample

"""GAN losses as pure functions of discriminator outputs, picked by name from one table.

``D`` returns one raw number per sample, shape ``(N,)``: a *logit* ``l`` for the classifying
GANs (``D(x) = sigmoid(l)``) and a *critic value* ``V`` for the others; the functions below take
them as ``logits_real`` and ``logits_fake`` either way. Every entry of :data:`LOSSES` is a
:class:`GANLoss`: a discriminator loss and a generator loss, both scalars to *minimise*.

* ``minimax`` / ``nonsaturating`` — Goodfellow et al. With ``D(x) = sigmoid(l)`` the value of the
  game is ``V(G, D) = E_data[log D(x)] + E_z[log(1 − D(G(z)))]``; D maximises it, so its loss is
  ``−V``: binary cross-entropy with label 1 for real and 0 for fake samples. Built on
  ``binary_cross_entropy_with_logits``, which computes ``log sigmoid`` stably.
* ``wgan`` / ``wgan-gp`` — Arjovsky et al.; Gulrajani et al. A critic estimates the Wasserstein-1
  distance; it must be kept (roughly) 1-Lipschitz, by weight clipping (``GANLoss.clip``) or by a
  gradient penalty (``GANLoss.gradient_penalty``, see :mod:`ganlab.regularizers`).
* ``hinge`` — Lim & Ye; Miyato et al.: a margin loss for D, the critic's loss for G.
* ``lsgan`` — Mao et al.: least squares towards the labels 1 (real) and 0 (fake).
* ``fgan-<divergence>`` — Nowozin et al.: D estimates an f-divergence ``D_f(P‖Q)`` through its
  variational lower bound ``E_P[T] − E_Q[f*(T)]`` with ``T = g_f(V)`` (see :class:`FDivergence`).
  G maximises ``E_Q[g_f(V)]`` (Nowozin et al.'s heuristic); ``fgan-<divergence>-bound`` has G
  minimise the bound itself, which with the optimal critic descends ``D_f``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from scipy.stats import norm

from ._checks import choice, positive


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def discriminator_bce(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """``−V``: ``−E[log D(x_real)] − E[log(1 − D(x_fake))]``, the sum of the two BCE terms."""
    return _bce(logits_real, 1.0) + _bce(logits_fake, 0.0)


def generator_minimax(logits_fake: torch.Tensor) -> torch.Tensor:
    """The saturating loss of the original game: ``E[log(1 − D(G(z)))]``, minimised by G."""
    return -_bce(logits_fake, 0.0)


def generator_nonsaturating(logits_fake: torch.Tensor) -> torch.Tensor:
    """The practical loss: ``−E[log D(G(z))]`` (BCE with flipped labels), minimised by G."""
    return _bce(logits_fake, 1.0)


# --- Wasserstein, hinge and least squares: the inputs are critic values V, shape (N,) -------------


def critic_wasserstein(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """``E[V(x_fake)] − E[V(x_real)]``: minus the critic's estimate of the Wasserstein-1 distance.

    The estimate is only a distance (up to a constant) while V is K-Lipschitz, which the loss
    itself does not enforce: weight clipping or a gradient penalty must come with it. Settings of
    the papers: WGAN clips to 0.01 and trains with RMSprop, lr 5e-5, k_disc = 5; WGAN-GP uses
    λ = 10 and Adam, lr 1e-4, betas (0, 0.9), k_disc = 5 (Arjovsky et al. found momentum unstable).
    """
    return logits_fake.mean() - logits_real.mean()


def generator_wasserstein(logits_fake: torch.Tensor) -> torch.Tensor:
    """``−E[V(G(z))]``: G raises the critic's score of its samples (also the hinge GAN's G loss)."""
    return -logits_fake.mean()


def discriminator_hinge(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """``E[max(0, 1 − V(x_real))] + E[max(0, 1 + V(x_fake))]``: samples beyond the margin cost
    nothing.
    """
    return F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean()


def discriminator_least_squares(
    logits_real: torch.Tensor, logits_fake: torch.Tensor
) -> torch.Tensor:
    """``½E[(V(x_real) − 1)²] + ½E[V(x_fake)²]``: regress real samples to 1 and fake ones to 0."""
    return 0.5 * ((logits_real - 1.0) ** 2).mean() + 0.5 * (logits_fake**2).mean()


def generator_least_squares(logits_fake: torch.Tensor) -> torch.Tensor:
    """``½E[(V(G(z)) − 1)²]``: G pulls the score of its samples to the real label 1.

    With these labels (a, b, c) = (0, 1, 1) of Mao et al.; their (−1, 1, 0) makes the game
    minimise the Pearson χ² divergence between ``p_data + p_g`` and ``2 p_g``.
    """
    return 0.5 * ((logits_fake - 1.0) ** 2).mean()


@dataclass(frozen=True)
class GANLoss:
    """A named pair of losses: ``discriminator(logits_real, logits_fake)`` and
    ``generator(logits_fake)``.

    Both take ``(N,)`` outputs of D and return a scalar to minimise. The training loop adds, to
    the discriminator's loss, the regularizers that ``ganlab.regularizers.regularizers_for``
    returns for this loss, and clamps D's weights to ``[−clip, clip]`` after each D step.

    The ``d_real``/``d_fake`` traces of a History are ``sigmoid(output).mean()``: a probability for
    the classifiers (``minimax``, ``nonsaturating``, ``fgan-gan``, ``fgan-js``, whose T is
    ``log(2·sigmoid(V))``), only a squashed score for the critics (``wgan``, ``hinge``, ``lsgan``,
    …).
    """

    name: str
    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]
    clip: float | None = (
        None  # clamp every weight of D to [-clip, clip] after each D step (WGAN); None: no clipping
    )
    gradient_penalty: float = 0.0  # weight λ of the WGAN-GP penalty E[(‖∇D(x̂)‖ − 1)²]; 0: none
    divergence: FDivergence | None = (
        None  # the f-divergence an f-GAN loss estimates; None for the others
    )

    def __post_init__(self):
        if self.clip is not None:
            positive("clip", self.clip)
        if (
            isinstance(self.gradient_penalty, bool)
            or not isinstance(self.gradient_penalty, (int, float))
            or not math.isfinite(self.gradient_penalty)
            or self.gradient_penalty < 0
        ):
            raise ValueError(
                f"gradient_penalty must be a finite number >= 0, got {self.gradient_penalty!r}"
            )


# --- f-divergences (Nowozin et al. 2016, Tables 2 and 6) ------------------------------------------
# Each function works on numpy arrays and on torch tensors alike (gradients flow through the
# latter).


def _xp(x):
    """The array module of ``x``: torch for tensors, numpy for everything else."""
    return torch if isinstance(x, torch.Tensor) else np


def _softplus(x):
    """``log(1 + exp(x))`` without overflow, for numpy and torch."""
    xp = _xp(x)
    return xp.logaddexp(x, xp.zeros_like(x))


def _log(x):
    return _xp(x).log(x)


def _exp(x):
    return _xp(x).exp(x)


def _expm1(x):
    return _xp(x).expm1(x)


def _sqrt(x):
    return _xp(x).sqrt(x)


_LOG2 = math.log(2.0)


@dataclass(frozen=True)
class FDivergence:
    """One f-divergence ``D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx`` and what an f-GAN needs of it.

    ``f`` is convex on ``u > 0`` with ``f(1) = 0`` (the ``gan`` one excepted: ``f(1) = −log 4``).
    Its Fenchel conjugate ``f*(t) = sup_u (t·u − f(u))`` gives the lower bound
    ``D_f(P‖Q) ≥ E_P[T(x)] − E_Q[f*(T(x))]`` for every ``T: X → dom f*``, with equality at
    ``T*(x) = f'(p(x)/q(x))``. The critic outputs any real ``V(x)``; the output activation
    ``g_f: R → dom f*`` turns it into ``T = g_f(V)``. All callables act elementwise on numpy
    arrays or torch tensors.
    """

    name: str
    f: Callable  # the generator function f(u), u = p/q > 0
    f_prime: Callable  # f'(u); the optimal T is T*(x) = f'(p(x)/q(x))
    conjugate: Callable  # f*(t), for t inside `domain`
    activation: Callable  # g_f(v): R -> dom f*, monotone increasing
    conjugate_of_activation: (
        Callable  # f*(g_f(v)), simplified so it stays finite where the composition would not
    )
    domain: tuple[float, float]  # dom f* = the open interval (low, high); low = -inf for all here
    description: str  # what D_f is, in words


DIVERGENCES = {
    d.name: d
    for d in (
        FDivergence(
            "kl",
            f=lambda u: u * _log(u),
            f_prime=lambda u: 1.0 + _log(u),
            conjugate=lambda t: _exp(t - 1.0),
            activation=lambda v: v,
            conjugate_of_activation=lambda v: _exp(v - 1.0),
            domain=(-math.inf, math.inf),
            description="Kullback–Leibler KL(P‖Q) = ∫ p log(p/q)",
        ),
        FDivergence(
            "reverse-kl",
            f=lambda u: -_log(u),
            f_prime=lambda u: -1.0 / u,
            conjugate=lambda t: -1.0 - _log(-t),
            activation=lambda v: -_exp(-v),
            conjugate_of_activation=lambda v: (
                v - 1.0
            ),  # −1 − log(exp(−v)), without the log of an underflow
            domain=(-math.inf, 0.0),
            description="reverse Kullback–Leibler KL(Q‖P) = ∫ q log(q/p)",
        ),
        FDivergence(
            # f on all of R, as in the paper: for t < −2 the sup over u > 0 alone would be −1, but
            # the optimal T* = 2(p/q − 1) ≥ −2 lies where the two agree, and a larger f* only lowers
            # the bound.
            "pearson",
            f=lambda u: (u - 1.0) ** 2,
            f_prime=lambda u: 2.0 * (u - 1.0),
            conjugate=lambda t: 0.25 * t**2 + t,
            activation=lambda v: v,
            conjugate_of_activation=lambda v: 0.25 * v**2 + v,
            domain=(-math.inf, math.inf),
            description="Pearson χ²(P‖Q) = ∫ (p − q)²/q",
        ),
        FDivergence(
            "neyman",
            f=lambda u: (1.0 - u) ** 2 / u,
            f_prime=lambda u: 1.0 - 1.0 / u**2,
            conjugate=lambda t: 2.0 - 2.0 * _sqrt(1.0 - t),
            activation=lambda v: -_expm1(-v),  # 1 − exp(−v)
            conjugate_of_activation=lambda v: 2.0 - 2.0 * _exp(-0.5 * v),
            domain=(-math.inf, 1.0),
            description="Neyman χ²(P‖Q) = ∫ (p − q)²/p",
        ),
        FDivergence(
            "hellinger",
            f=lambda u: (_sqrt(u) - 1.0) ** 2,
            f_prime=lambda u: 1.0 - 1.0 / _sqrt(u),
            conjugate=lambda t: t / (1.0 - t),
            activation=lambda v: -_expm1(-v),  # 1 − exp(−v)
            conjugate_of_activation=lambda v: _expm1(v),  # t/(1 − t) at t = 1 − exp(−v)
            domain=(-math.inf, 1.0),
            description="squared Hellinger H²(P, Q) = ∫ (√p − √q)²",
        ),
        FDivergence(
            "js",
            f=lambda u: -(u + 1.0) * _log((1.0 + u) / 2.0) + u * _log(u),
            f_prime=lambda u: _log(2.0 * u / (1.0 + u)),
            conjugate=lambda t: -_log(2.0 - _exp(t)),
            activation=lambda v: _LOG2 - _softplus(-v),
            conjugate_of_activation=lambda v: _softplus(v) - _LOG2,
            domain=(-math.inf, _LOG2),
            description="Jensen–Shannon, with the paper's f: D_f = 2·JSD(P‖Q) (at most log 4)",
        ),
        FDivergence(
            # With T = g_f(V) = log sigmoid(V) the bound is exactly the original game's value V(G,
            # D).
            "gan",
            f=lambda u: u * _log(u) - (u + 1.0) * _log(u + 1.0),
            f_prime=lambda u: _log(u / (u + 1.0)),
            conjugate=lambda t: -_log(-_expm1(t)),  # −log(1 − exp(t))
            activation=lambda v: -_softplus(-v),  # log sigmoid(v)
            conjugate_of_activation=_softplus,  # −log(1 − sigmoid(v))
            domain=(-math.inf, 0.0),
            description="the original GAN's: D_f = 2·JSD(P‖Q) − log 4",
        ),
    )
}


def get_divergence(name: str | FDivergence) -> FDivergence:
    """The :class:`FDivergence` called ``name`` (one of ``DIVERGENCES``); an FDivergence passes
    through.
    """
    if isinstance(name, FDivergence):
        return name
    choice("divergence", name, list(DIVERGENCES))
    return DIVERGENCES[name]


def f_divergence(divergence: str | FDivergence, p, q, weights=None) -> float:
    """``D_f(P‖Q) = Σ_i w_i q_i f(p_i / q_i)`` for probabilities or densities on a grid.

    ``p`` and ``q`` are arrays of the same shape, > 0 where ``q`` is: probabilities of a discrete
    distribution (``weights=None``), or densities at grid points with ``weights`` the quadrature
    weights (e.g. the grid spacing ``dx``, a scalar or an array).
    """
    div = get_divergence(divergence)
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    if np.any(p <= 0) or np.any(q <= 0):
        raise ValueError("p and q must be > 0 everywhere (drop the points where either vanishes)")
    w = 1.0 if weights is None else np.asarray(weights, dtype=np.float64)
    return float(np.sum(w * q * div.f(p / q)))


def bound(divergence: str | FDivergence, T_real, T_fake):
    """The variational lower bound ``E_P[T] − E_Q[f*(T)]`` from samples of ``T`` (not of ``V``).

    ``T_real`` holds ``T(x)`` for ``x ~ P`` and ``T_fake`` for ``x ~ Q``, each inside ``dom f*``;
    numpy arrays give a numpy float, tensors a 0-d tensor. It is at most ``D_f(P‖Q)``, with
    equality at ``T*(x) = f'(p(x)/q(x))``.
    """
    div = get_divergence(divergence)
    if not isinstance(T_real, torch.Tensor):
        T_real, T_fake = np.asarray(T_real, dtype=np.float64), np.asarray(T_fake, dtype=np.float64)
    return T_real.mean() - div.conjugate(T_fake).mean()


FGAN_GENERATORS = ("alternative", "bound")


def fgan_loss(divergence: str | FDivergence, generator: str = "alternative") -> GANLoss:
    """The f-GAN losses for ``divergence`` (a name of ``DIVERGENCES`` or an FDivergence).

    D maximises the bound ``E_P[g_f(V)] − E_Q[f*(g_f(V))]``, so its loss is minus that.
    G minimises the bound, and its part is ``−E_Q[f*(g_f(V))]`` (``generator="bound"``, which
    saturates like the minimax GAN); by default it instead maximises ``E_Q[g_f(V(G(z)))]``
    (``"alternative"``), the heuristic Nowozin et al. use in their experiments: for the ``gan``
    divergence it is exactly the non-saturating loss ``−E[log D(G(z))]``.
    """
    div = get_divergence(divergence)
    choice("f-GAN generator", generator, FGAN_GENERATORS)

    def discriminator(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
        # −(E_P[T] − E_Q[f*(T)]) with T = g_f(V); f*(g_f(V)) in the form that stays finite
        return div.conjugate_of_activation(logits_fake).mean() - div.activation(logits_real).mean()

    def generator_alternative(logits_fake: torch.Tensor) -> torch.Tensor:
        return -div.activation(logits_fake).mean()  # −E_Q[g_f(V)]

    def generator_bound(logits_fake: torch.Tensor) -> torch.Tensor:
        return -div.conjugate_of_activation(logits_fake).mean()  # −E_Q[f*(g_f(V))]

    name = f"fgan-{div.name}" + ("" if generator == "alternative" else "-bound")
    G_loss = generator_alternative if generator == "alternative" else generator_bound
    return GANLoss(name, discriminator, G_loss, divergence=div)


LOSSES = {
    "minimax": GANLoss("minimax", discriminator_bce, generator_minimax),
    "nonsaturating": GANLoss("nonsaturating", discriminator_bce, generator_nonsaturating),
    # Arjovsky et al. train with RMSprop, lr 5e-5, k_disc = 5 and clip 0.01 (the loop uses Adam:
    # take a small lr and beta1 = 0, e.g. lr 5e-5, betas (0, 0.9)).
    "wgan": GANLoss("wgan", critic_wasserstein, generator_wasserstein, clip=0.01),
    # Gulrajani et al.: λ = 10, Adam lr 1e-4, betas (0, 0.9), k_disc = 5; no batch norm in the
    # critic.
    "wgan-gp": GANLoss("wgan-gp", critic_wasserstein, generator_wasserstein, gradient_penalty=10.0),
    "hinge": GANLoss("hinge", discriminator_hinge, generator_wasserstein),
    "lsgan": GANLoss("lsgan", discriminator_least_squares, generator_least_squares),
    **{f"fgan-{name}": fgan_loss(name) for name in DIVERGENCES},
    # G minimises the bound itself: with the optimal critic this descends D_f; the default
    # ("alternative") update descends another f-divergence, D_h with h''(u) = f''(u) / u.
    **{f"fgan-{name}-bound": fgan_loss(name, generator="bound") for name in DIVERGENCES},
}


def get_loss(name: str) -> GANLoss:
    """The loss pair called ``name`` (one of ``LOSSES``)."""
    choice("loss", name, list(LOSSES))
    return LOSSES[name]


def gaussian_divergence(divergence: str | FDivergence, p, x, mu: float, sigma: float) -> float:
    """``D_f(P‖N(mu, sigma²))`` by quadrature on the evenly spaced 1D grid ``x``.

    ``p`` holds P's density at ``x`` (same shape); the sum runs over the points where both
    densities are > 0, with weight the spacing ``x[1] − x[0]`` (:func:`f_divergence`). In nats
    for the divergences of ``DIVERGENCES``; the grid should cover both densities' mass.
    """
    x, p = np.asarray(x, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if x.ndim != 1 or x.shape != p.shape or len(x) < 2:
        raise ValueError(
            f"x and p must be 1D grids of the same length >= 2, got {x.shape}, {p.shape}"
        )
    q = norm.pdf(x, mu, sigma)
    keep = (p > 0) & (q > 0)
    return f_divergence(divergence, p[keep], q[keep], x[1] - x[0])


def gaussian_minima(
    divergence: str | FDivergence, p, x, starts=(0.0, 2.0)
) -> list[tuple[float, float, float]]:
    """Local minima of ``D_f(P‖N(mu, sigma²))`` over ``(mu, sigma)``, one per start ``mu0``.

    Nelder–Mead (scipy; ``xatol=1e-6``, ``fatol=1e-10``) over ``(mu, log sigma)`` from
    ``(mu0, log 1)``, the objective :func:`gaussian_divergence` on the grid ``x`` with P's
    density ``p``. Returns ``[(mu, sigma, D_f), ...]`` in the order of ``starts``: the best
    Gaussian that gradient-free descent from each start finds, which need not be the global one.
    Where Nelder–Mead stops without converging (scipy's default limit of 400 evaluations) it warns,
    and that start's point is where it stopped, not a minimum.
    """

    def objective(theta):
        return gaussian_divergence(divergence, p, x, theta[0], np.exp(theta[1]))

    found = []
    for mu0 in starts:
        options = dict(xatol=1e-6, fatol=1e-10)
        r = minimize(objective, [mu0, 0.0], method="Nelder-Mead", options=options)
        if not r.success:
            warnings.warn(
                f"D_f to a Gaussian: Nelder–Mead from mu0={mu0} did not converge ({r.message})",
                RuntimeWarning,
                stacklevel=2,
            )
        found.append((float(r.x[0]), float(np.exp(r.x[1])), float(r.fun)))
    return found


def value_and_grad(loss_fn: Callable[[torch.Tensor], torch.Tensor], logit: float):
    """A loss of one logit and its derivative there, in float32: ``(loss_fn(l), d loss_fn/dl)``.

    ``l`` is the float32 tensor ``[logit]`` (shape ``(1,)``) and ``loss_fn`` maps it to a tensor
    (summed before differentiating). Returns two Python floats; ``inf`` and ``nan`` pass through,
    so a numerically broken loss (sigmoid, then log) shows itself.
    """
    l = torch.tensor([logit], requires_grad=True)  # noqa: E741
    loss = loss_fn(l)
    (grad,) = torch.autograd.grad(loss.sum(), l)
    return loss.item(), grad.item()

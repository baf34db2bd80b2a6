"""Two-player differentiable games in one scalar per player, and gradient play on them.

Chapter 3 uses these to show why GAN training cycles: the bilinear game ``min_x max_y x·y`` and
the *Dirac GAN* of Mescheder et al. (2018), whose data is a point mass at 0, whose generator is a
point mass at ``theta`` and whose discriminator is ``D(x) = sigmoid(psi·x)`` (or, for the WGAN
version, the critic ``f(x) = psi·x``).

A :class:`Game` stores its *vector field* ``v(x, y) = (−∂loss_x/∂x, −∂loss_y/∂y)``: the direction in
which each player would move by gradient descent on its own loss. In a zero-sum game with value
``V`` (x minimises, y maximises) that is ``(−∂V/∂x, +∂V/∂y)``. Every update rule here is built on
it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import expit

from ._checks import choice, positive, positive_int

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")
DIRAC_LOSSES = ("minimax", "nonsaturating")

Field = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Game:
    """A game in two scalars: player 1 controls ``x``, player 2 controls ``y``.

    ``vector_field(x, y) -> (dx, dy)``: minus each player's gradient of its own loss (broadcasts
    over arrays). ``value(x, y)``: what player 2 maximises; in a zero-sum game player 1 minimises
    it. ``equilibrium``: the point where the field vanishes. ``labels``: axis names for plots.
    ``project``: a constraint set, as the map of a point ``(x, y)`` to the nearest allowed one
    (e.g. WGAN's weight clipping); :func:`trajectory` applies it after every step, :func:`flow`
    ignores it. ``None``: no constraint.
    """

    name: str
    vector_field: Field
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    equilibrium: tuple[float, float] = (0.0, 0.0)
    labels: tuple[str, str] = ("x", "y")
    project: Callable[[np.ndarray], np.ndarray] | None = None


def _non_negative(name: str, value) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def _point(name: str, point) -> np.ndarray:
    z = np.asarray(point, dtype=np.float64)
    if z.shape != (2,) or not np.isfinite(z).all():
        raise ValueError(f"{name} must be two finite numbers (x, y), got {point!r}")
    return z


def bilinear(damping: float = 0.0) -> Game:
    """``min_x max_y  x·y + damping/2 · (x² − y²)``: each player pays an L2 penalty on its own move.

    Without damping, ``v(x, y) = (−y, x)``: a pure rotation about the equilibrium (0, 0).
    """
    _non_negative("damping", damping)

    def vector_field(x, y):
        return -(y + damping * x), x - damping * y  # (−∂V/∂x, +∂V/∂y)

    def value(x, y):
        return x * y + 0.5 * damping * (np.square(x) - np.square(y))

    name = "bilinear game" + (f", damping {damping:g}" if damping else "")
    return Game(name, vector_field, value, labels=("x (minimises)", "y (maximises)"))


def dirac_gan(loss: str = "minimax", gamma: float = 0.0) -> Game:
    """The Dirac GAN: ``p_data = δ_0``, ``p_theta = δ_theta``, ``D_psi(x) = sigmoid(psi·x)``.

    The value is ``V(theta, psi) = log D(0) + log(1 − D(theta)) − gamma/2 · psi²
    = −log 2 − softplus(psi·theta) − gamma/2 · psi²``; the last term is the R1 gradient penalty
    ``gamma/2 · |∂ logit/∂x|²`` on the real data. D ascends V. With ``loss="minimax"`` G descends V;
    with ``"nonsaturating"`` G descends ``−log D(theta) = softplus(−psi·theta)`` instead.
    """
    choice("loss", loss, DIRAC_LOSSES)
    _non_negative("gamma", gamma)

    def vector_field(theta, psi):
        t = psi * theta  # the logit of the generated point
        d_theta = psi * (expit(t) if loss == "minimax" else expit(-t))  # −∂(G's loss)/∂theta
        d_psi = -theta * expit(t) - gamma * psi  # +∂V/∂psi
        return d_theta, d_psi

    def value(theta, psi):
        return -math.log(2.0) - np.logaddexp(0.0, psi * theta) - 0.5 * gamma * np.square(psi)

    name = f"Dirac GAN ({loss}" + (f", R1 gamma {gamma:g})" if gamma else ")")
    return Game(name, vector_field, value, labels=("θ (generator)", "ψ (discriminator)"))


def dirac_wgan(clip: float | None = 1.0, gamma: float = 0.0) -> Game:
    """The Dirac GAN with a Wasserstein critic ``f_psi(x) = psi·x`` (Mescheder et al. 2018, §2).

    The value is ``V(theta, psi) = f(0) − f(theta) − gamma/2 · (|psi| − 1)² = −psi·theta − ...``:
    the critic ascends it, the generator descends it. ``clip``: WGAN's weight clipping,
    ``|psi| <= clip`` after every step (``None``: no clipping); ``gamma``: WGAN-GP's gradient
    penalty ``gamma/2 · (|∂f/∂x| − 1)²`` (here ``∂f/∂x = psi`` everywhere, so the penalty does not
    depend on where it is evaluated). The equilibrium is ``(0, 0)``; at ``psi = 0`` the penalty's
    gradient is taken as 0 (it jumps there: ``−gamma·sign(psi)·(|psi| − 1)``).
    """
    if clip is not None:
        positive("clip", clip)
    _non_negative("gamma", gamma)

    def vector_field(theta, psi):
        d_psi = -theta - gamma * np.sign(psi) * (np.abs(psi) - 1.0)  # +∂V/∂psi
        return psi + 0.0 * theta, d_psi  # −∂V/∂theta = psi

    def value(theta, psi):
        return -psi * theta - 0.5 * gamma * np.square(np.abs(psi) - 1.0)

    def project(z):
        return np.array([z[0], np.clip(z[1], -clip, clip)])

    parts = ([f"clip {clip:g}"] if clip is not None else []) + (
        [f"GP gamma {gamma:g}"] if gamma else []
    )
    name = "Dirac WGAN" + (f" ({', '.join(parts)})" if parts else "")
    return Game(
        name,
        vector_field,
        value,
        labels=("θ (generator)", "ψ (critic)"),
        project=None if clip is None else project,
    )


def _v(game: Game, z: np.ndarray) -> np.ndarray:
    return np.array(game.vector_field(z[0], z[1]), dtype=np.float64)


def trajectory(
    game: Game,
    start,
    lr: float,
    num_steps: int,
    method: str = "simultaneous",
    momentum: float = 0.0,
) -> np.ndarray:
    """Iterates of discrete gradient play from ``start``; returns an array ``(num_steps + 1, 2)``.

    With ``v`` the game's vector field and ``z = (x, y)``:

    - ``simultaneous``: ``z ← z + lr·v(z)``, both players use the same old point;
    - ``alternating``: ``x ← x + lr·v_x(x, y)``, then ``y ← y + lr·v_y(x_new, y)`` (player 1 first);
    - ``extragradient``: look ahead ``z_half = z + lr·v(z)``, then ``z ← z + lr·v(z_half)``;
    - ``optimistic``: ``z ← z + lr·(2 v(z_t) − v(z_{t−1}))`` (Daskalakis et al. 2018;
      ``v(z_{−1}) = v(z_0)``).

    ``momentum`` ``beta`` (simultaneous and alternating only) adds Polyak's heavy-ball term
    ``beta·(z_t − z_{t−1})`` to each player's step (``z_{−1} = z_0``): ``beta > 0`` is the
    momentum of SGD (and, roughly, Adam's ``beta1``); ``beta < 0`` is the *negative momentum* of
    Gidel et al. (2019). With alternating steps, ``y``'s step uses the new ``x`` as before. If the
    game has a ``project``, it is applied after every step (and to extragradient's look-ahead).

    Diverging play is not stopped: its iterates may overflow to ``inf`` (numpy warns).
    """
    z = _point("start", start)
    positive("lr", lr)
    positive_int("num_steps", num_steps)
    choice("method", method, METHODS)
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not -1 < momentum < 1
    ):
        raise ValueError(f"momentum must be a number in (-1, 1), got {momentum!r}")
    if momentum and method not in ("simultaneous", "alternating"):
        raise ValueError(
            f"momentum works with method 'simultaneous' or 'alternating', not {method!r}"
        )
    project = game.project or (lambda point: point)
    path = np.empty((num_steps + 1, 2))
    path[0] = z
    v_prev = _v(game, z)
    z_prev = z
    for t in range(1, num_steps + 1):
        push = momentum * (z - z_prev)  # the heavy ball's velocity; zero without momentum
        z_prev = z
        if method == "simultaneous":
            z = z + lr * _v(game, z) + push
        elif method == "alternating":
            x = z[0] + lr * game.vector_field(z[0], z[1])[0] + push[0]
            z = np.array([x, z[1] + lr * game.vector_field(x, z[1])[1] + push[1]])
        elif method == "extragradient":
            z = z + lr * _v(game, project(z + lr * _v(game, z)))
        else:  # optimistic
            v_now = _v(game, z)
            z, v_prev = z + lr * (2 * v_now - v_prev), v_now
        z = project(z)
        path[t] = z
    return path


def flow(
    game: Game, start, t_max: float, num_points: int = 400, rtol: float = 1e-10, atol: float = 1e-12
):
    """The continuous-time limit ``dz/dt = v(z)`` (gradient play with ``lr → 0``), solved by scipy.

    Returns ``(t, path)``: ``num_points`` times in ``[0, t_max]`` and the path at them,
    ``(num_points, 2)``.
    """
    z0 = _point("start", start)
    positive("t_max", t_max)
    positive_int("num_points", num_points)
    t = np.linspace(0.0, t_max, num_points)
    sol = solve_ivp(
        lambda _, z: _v(game, z), (0.0, t_max), z0, t_eval=t, method="DOP853", rtol=rtol, atol=atol
    )
    return t, sol.y.T


def jacobian(game: Game, point=None, eps: float = 1e-6) -> np.ndarray:
    """``∂v/∂z`` at ``point`` (default: the equilibrium) by central differences, a ``(2, 2)`` array.

    Its eigenvalues decide local behaviour: the flow converges when all real parts are negative,
    cycles when they are purely imaginary.
    """
    z = _point("point", game.equilibrium if point is None else point)
    positive("eps", eps)
    columns = [(_v(game, z + eps * e) - _v(game, z - eps * e)) / (2 * eps) for e in np.eye(2)]
    return np.stack(columns, axis=1)


def field_on_grid(game: Game, lim: float = 2.0, n: int = 25):
    """The vector field on an ``n × n`` grid over ``[−lim, lim]²`` around the equilibrium.

    Returns ``(xs, ys, U, V)``: 1D coordinates and 2D components, ``U[i, j] = v_x(xs[j], ys[i])``,
    ready for ``plt.quiver`` or ``plt.streamplot``.
    """
    positive("lim", lim)
    positive_int("n", n)
    if n < 2:
        raise ValueError(f"n must be at least 2 grid points per axis, got {n}")
    x0, y0 = game.equilibrium
    xs, ys = np.linspace(x0 - lim, x0 + lim, n), np.linspace(y0 - lim, y0 + lim, n)
    U, V = game.vector_field(*np.meshgrid(xs, ys))
    return xs, ys, np.asarray(U, dtype=np.float64), np.asarray(V, dtype=np.float64)


def plot_game(
    game: Game, paths: dict[str, np.ndarray] | None = None, ax=None, lim: float = 2.0, n: int = 25
):
    """Streamlines of the vector field, the equilibrium (star) and each path (a line from a dot).

    ``paths`` maps a label to an array ``(T, 2)``, e.g. from :func:`trajectory` or :func:`flow`.
    Returns the axes.
    """
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    xs, ys, U, V = field_on_grid(game, lim, n)
    ax.streamplot(
        xs, ys, U, V, color=np.hypot(U, V), cmap="Greys", density=0.9, linewidth=0.7, arrowsize=0.8
    )
    for label, path in (paths or {}).items():
        path = np.asarray(path)
        (line,) = ax.plot(path[:, 0], path[:, 1], lw=1.3, label=label)
        ax.plot(*path[0], "o", color=line.get_color(), ms=5)
    ax.plot(*game.equilibrium, "*", color="crimson", ms=12, label="equilibrium")
    ax.set(
        xlim=(xs[0], xs[-1]),
        ylim=(ys[0], ys[-1]),
        xlabel=game.labels[0],
        ylabel=game.labels[1],
        title=game.name,
        aspect="equal",
    )
    ax.legend(loc="upper right")
    return ax


def growth_factor(path, k: int = 1) -> float:
    """The factor by which one step multiplies the distance to ``(0, 0)``, over the last ``k``.

    ``(|z_T| / |z_{T−k}|) ** (1/k)`` for a path ``(T + 1, 2)`` from :func:`trajectory` (the
    equilibrium of every game here is the origin): above 1 the play spirals out, below 1 it
    converges, and on a linear game such as ``bilinear`` it tends to the spectral radius of the
    step, the closed-form rate. ``k``: how many of the last steps to average over (geometrically).
    """
    positive_int("k", k)
    r = np.linalg.norm(np.asarray(path, dtype=np.float64), axis=1)
    if len(r) <= k:
        raise ValueError(f"the path has {len(r) - 1} steps, fewer than k = {k}")
    return float((r[-1] / r[-1 - k]) ** (1 / k))

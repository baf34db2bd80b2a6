import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import integrate, optimize, stats

from ganlab import losses, mixtures, theory


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3


def test_discriminator_loss_is_minus_the_value(logits):
    real, fake = logits
    value = torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()
    assert torch.allclose(losses.discriminator_bce(real, fake), -value, atol=1e-5)
    expected = F.binary_cross_entropy(torch.sigmoid(real), torch.ones(64)) + F.binary_cross_entropy(
        torch.sigmoid(fake), torch.zeros(64)
    )
    assert torch.allclose(losses.discriminator_bce(real, fake), expected, atol=1e-5)


def test_generator_losses_equal_their_definitions(logits):
    _, fake = logits
    d = torch.sigmoid(fake)
    assert torch.allclose(losses.generator_minimax(fake), torch.log(1 - d).mean(), atol=1e-5)
    assert torch.allclose(losses.generator_nonsaturating(fake), -torch.log(d).mean(), atol=1e-5)
    assert torch.allclose(
        losses.generator_nonsaturating(fake),
        F.binary_cross_entropy_with_logits(fake, torch.ones(64)),
    )


def test_d_equal_one_half_gives_log_4():
    zero = torch.zeros(10)
    assert losses.discriminator_bce(zero, zero).item() == pytest.approx(math.log(4))


def test_losses_stay_finite_where_log_sigmoid_would_not():
    huge = torch.tensor([-200.0, 200.0])
    for value in (
        losses.discriminator_bce(huge, huge),
        losses.generator_minimax(huge),
        losses.generator_nonsaturating(huge),
    ):
        assert torch.isfinite(value)
    assert losses.generator_nonsaturating(torch.tensor([-200.0])).item() == pytest.approx(200.0)


def test_gradient_at_the_logit_matches_the_closed_form():
    fake = torch.tensor([-4.0, 0.0, 4.0], requires_grad=True)
    losses.generator_minimax(fake).backward()
    d = torch.sigmoid(fake.detach())
    assert torch.allclose(fake.grad * 3, -d)  # ∂ log(1 − σ(l)) / ∂l = −σ(l)


# --- the table --------------------------------------------------------------------------------

ALL_LOSSES = [
    "minimax",
    "nonsaturating",
    "wgan",
    "wgan-gp",
    "hinge",
    "lsgan",
    "fgan-kl",
    "fgan-reverse-kl",
    "fgan-pearson",
    "fgan-neyman",
    "fgan-hellinger",
    "fgan-js",
    "fgan-gan",
    "fgan-kl-bound",
    "fgan-reverse-kl-bound",
    "fgan-pearson-bound",
    "fgan-neyman-bound",
    "fgan-hellinger-bound",
    "fgan-js-bound",
    "fgan-gan-bound",
]


def test_the_table_holds_every_variant_by_name():
    assert list(losses.LOSSES) == ALL_LOSSES
    for name, loss in losses.LOSSES.items():
        assert loss.name == name and losses.get_loss(name) is loss
    with pytest.raises(
        ValueError,
        match="unknown loss 'wgan-x'; choose one of: minimax, nonsaturating, wgan, "
        "wgan-gp, hinge, lsgan, fgan-kl,",
    ):
        losses.get_loss("wgan-x")


def test_only_the_wasserstein_losses_ask_for_a_lipschitz_constraint():
    wgan, gp = losses.get_loss("wgan"), losses.get_loss("wgan-gp")
    assert (wgan.clip, wgan.gradient_penalty) == (0.01, 0.0)  # Arjovsky et al.
    assert (gp.clip, gp.gradient_penalty) == (None, 10.0)  # Gulrajani et al.
    assert (wgan.discriminator, wgan.generator) == (gp.discriminator, gp.generator)
    for name in set(ALL_LOSSES) - {"wgan", "wgan-gp"}:
        assert (losses.get_loss(name).clip, losses.get_loss(name).gradient_penalty) == (None, 0.0)
    for name in ALL_LOSSES:
        assert (losses.get_loss(name).divergence is None) == (not name.startswith("fgan-"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(clip=0.0), "clip must be a positive finite number, got 0.0"),
        (dict(gradient_penalty=-1.0), "gradient_penalty must be a finite number >= 0, got -1.0"),
        (
            dict(gradient_penalty=float("nan")),
            "gradient_penalty must be a finite number >= 0, got nan",
        ),
    ],
)
def test_ganloss_rejects_bad_constraints(kwargs, message):
    with pytest.raises(ValueError, match=message):
        losses.GANLoss("x", losses.critic_wasserstein, losses.generator_wasserstein, **kwargs)


# Hand-computed on V_real = (2, 0.5, −1), V_fake = (−2, 0, 1.5).
V_REAL, V_FAKE = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.5])


@pytest.mark.parametrize(
    "name, loss_d, loss_g",
    [
        ("wgan", -0.5 / 3 - 1.5 / 3, 0.5 / 3),  # mean(V_fake) − mean(V_real); −mean(V_fake)
        ("wgan-gp", -0.5 / 3 - 1.5 / 3, 0.5 / 3),
        (
            "hinge",
            (0 + 0.5 + 2) / 3 + (0 + 1 + 2.5) / 3,
            0.5 / 3,
        ),  # relu(1 − V_real), relu(1 + V_fake)
        ("lsgan", 0.5 * (1 + 0.25 + 4) / 3 + 0.5 * (4 + 0 + 2.25) / 3, 0.5 * (9 + 1 + 0.25) / 3),
    ],
)
def test_critic_losses_on_hand_computed_values(name, loss_d, loss_g):
    loss = losses.get_loss(name)
    assert loss.discriminator(V_REAL, V_FAKE).item() == pytest.approx(loss_d, abs=1e-6)
    assert loss.generator(V_FAKE).item() == pytest.approx(loss_g, abs=1e-6)


def test_hinge_ignores_samples_beyond_the_margin():
    V_real, V_fake = (
        torch.tensor([1.0, 3.0], requires_grad=True),
        torch.tensor([-1.0, -5.0], requires_grad=True),
    )
    loss = losses.get_loss("hinge").discriminator(V_real, V_fake)
    loss.backward()
    assert loss.item() == 0.0
    assert V_real.grad.abs().sum() == 0 and V_fake.grad.abs().sum() == 0


def test_every_loss_works_under_vmap_as_the_batched_sweep_uses_it():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(4, 16, generator=g), torch.randn(4, 16, generator=g)
    for name in ALL_LOSSES:
        loss = losses.get_loss(name)
        batched_d = torch.func.vmap(loss.discriminator)(real, fake)
        batched_g = torch.func.vmap(loss.generator)(fake)
        assert torch.allclose(
            batched_d, torch.stack([loss.discriminator(r, f) for r, f in zip(real, fake)])
        )
        assert torch.allclose(batched_g, torch.stack([loss.generator(f) for f in fake]))


# --- f-divergences ---------------------------------------------------------------------------

DIVS = list(losses.DIVERGENCES)


def test_the_divergences_of_nowozin_et_al():
    assert DIVS == ["kl", "reverse-kl", "pearson", "neyman", "hellinger", "js", "gan"]
    assert losses.get_divergence(losses.DIVERGENCES["kl"]) is losses.DIVERGENCES["kl"]
    with pytest.raises(
        ValueError, match="unknown divergence 'tv'; choose one of: kl, reverse-kl, pearson"
    ):
        losses.fgan_loss("tv")
    with pytest.raises(
        ValueError, match="unknown f-GAN generator 'x'; choose one of: alternative, bound"
    ):
        losses.fgan_loss("kl", generator="x")


def _numeric_conjugate(div, t):
    """``sup_u (t·u − f(u))`` by bounded 1D minimisation over log u (u over all of R for
    Pearson).
    """
    if div.name == "pearson":  # the paper's f* is the conjugate of (u − 1)² on all of R
        res = optimize.minimize_scalar(
            lambda u: -(t * u - div.f(u)),
            bounds=(-50, 50),
            method="bounded",
            options=dict(xatol=1e-12),
        )
    else:
        res = optimize.minimize_scalar(
            lambda s: -(t * np.exp(s) - div.f(np.exp(s))),
            bounds=(-30, 12),
            method="bounded",
            options=dict(xatol=1e-12),
        )
    return -res.fun


@pytest.mark.parametrize("name", DIVS)
def test_conjugate_matches_the_supremum_computed_numerically(name):
    div = losses.DIVERGENCES[name]
    low, high = div.domain
    ts = (
        np.linspace(max(low, -4.0), min(high, 4.0), 25)[:-1]
        if high < np.inf
        else np.linspace(-4, 4, 25)
    )
    ts = ts[ts < high - 0.05]  # away from the edge, where the maximising u runs off to infinity
    for t in ts:
        assert div.conjugate(t) == pytest.approx(_numeric_conjugate(div, t), abs=1e-7), (name, t)
    # Fenchel–Young: f(u) + f*(t) ≥ t·u, with equality at t = f'(u)
    u = np.geomspace(0.05, 20, 30)[:, None]
    assert np.all(div.f(u) + div.conjugate(ts[None, :]) >= ts[None, :] * u - 1e-12)
    assert np.allclose(div.f(u) + div.conjugate(div.f_prime(u)), div.f_prime(u) * u)


@pytest.mark.parametrize("name", DIVS)
def test_f_is_a_convex_generator_and_f_prime_its_derivative(name):
    div = losses.DIVERGENCES[name]
    # f(1) = 0 makes D_f(P‖P) = 0; the original GAN's f is shifted by −log 4 (its bound is V(G, D))
    assert div.f(1.0) == pytest.approx(-math.log(4) if name == "gan" else 0.0, abs=1e-15)
    u, h = np.geomspace(0.02, 50, 200), 1e-6
    assert np.allclose(
        div.f_prime(u), (div.f(u + h) - div.f(u - h)) / (2 * h), rtol=1e-6, atol=1e-6
    )
    assert np.all(np.diff(div.f_prime(u)) > 0)  # f' increasing: f strictly convex


@pytest.mark.parametrize("name", DIVS)
def test_activation_maps_the_reals_onto_the_domain_of_the_conjugate(name):
    div = losses.DIVERGENCES[name]
    low, high = div.domain
    v = np.linspace(-30, 30, 2001)
    T = div.activation(v)
    assert np.all((T > low) & (T < high)) and np.all(np.diff(T) > 0)
    assert T[0] < -29  # unbounded below, as every domain here
    assert (
        T[-1] >= 30 if high == np.inf else high - T[-1] < 1e-6
    )  # reaches up to the end of the domain
    # the simplified f*(g_f(v)) is the composition, and finite where the composition overflows in
    # float32
    mid = np.linspace(-8, 8, 101)
    assert np.allclose(
        div.conjugate_of_activation(mid), div.conjugate(div.activation(mid)), rtol=1e-9, atol=1e-9
    )
    wide = torch.linspace(-60, 60, 121, requires_grad=True)
    value = div.conjugate_of_activation(wide)
    value.sum().backward()
    assert torch.isfinite(value).all() and torch.isfinite(wide.grad).all()


def test_activations_and_conjugates_accept_tensors_and_arrays_alike():
    v = np.linspace(-3, 3, 7)
    for div in losses.DIVERGENCES.values():
        for fn in (div.activation, div.conjugate_of_activation):
            assert np.allclose(fn(torch.from_numpy(v)).numpy(), fn(v))
        assert np.allclose(div.f(torch.from_numpy(v + 4)).numpy(), div.f(v + 4))


def test_fgan_gan_is_the_original_gan():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(50, generator=g) * 3, torch.randn(50, generator=g) * 3
    loss = losses.get_loss("fgan-gan")
    assert torch.allclose(
        loss.discriminator(real, fake), losses.discriminator_bce(real, fake), atol=1e-6
    )
    assert torch.allclose(loss.generator(fake), losses.generator_nonsaturating(fake), atol=1e-6)
    assert torch.allclose(
        losses.fgan_loss("gan", "bound").generator(fake), losses.generator_minimax(fake), atol=1e-6
    )
    assert losses.fgan_loss("gan", "bound").name == "fgan-gan-bound"


def test_fgan_losses_are_minus_the_bound_on_the_activated_outputs():
    g = torch.Generator().manual_seed(3)
    real, fake = (
        torch.randn(40, generator=g, dtype=torch.float64),
        torch.randn(40, generator=g, dtype=torch.float64),
    )
    for name in DIVS:
        div, loss = losses.DIVERGENCES[name], losses.get_loss(f"fgan-{name}")
        T_real, T_fake = div.activation(real), div.activation(fake)
        assert torch.allclose(loss.discriminator(real, fake), -losses.bound(div, T_real, T_fake))
        assert torch.allclose(
            loss.generator(fake), -T_fake.mean()
        )  # the alternative: maximise E_Q[g_f(V)]
        bound_g = losses.fgan_loss(name, generator="bound").generator(fake)
        assert torch.allclose(bound_g, -div.conjugate(T_fake).mean())  # G's part of the bound


def test_f_divergence_on_discrete_distributions():
    p, q = np.array([0.2, 0.8]), np.array([0.5, 0.5])
    assert losses.f_divergence("kl", p, q) == pytest.approx(
        0.2 * math.log(0.4) + 0.8 * math.log(1.6)
    )
    assert losses.f_divergence("reverse-kl", p, q) == pytest.approx(
        0.5 * math.log(2.5) + 0.5 * math.log(0.625)
    )
    assert losses.f_divergence("pearson", p, q) == pytest.approx(0.3**2 / 0.5 * 2)
    assert losses.f_divergence("hellinger", p, q) == pytest.approx(
        sum((np.sqrt(p) - np.sqrt(q)) ** 2)
    )
    for name in DIVS:
        assert losses.f_divergence(name, p, p) == pytest.approx(
            -math.log(4) if name == "gan" else 0.0, abs=1e-15
        )
    with pytest.raises(ValueError, match="p and q must have the same shape"):
        losses.f_divergence("kl", p, q[:1])


# Two known 1D densities: P = N(0, 1), Q = N(1, 1.2²). Every divergence here is finite between them
# (Pearson needs 2σ_q² > σ_p², Neyman 2σ_p² > σ_q²).
MU, S = 1.0, 1.2
P, Q = stats.norm(0.0, 1.0), stats.norm(MU, S)


def _closed_form(name):
    """D_f(P‖Q) for P = N(0, 1), Q = N(μ, s²)."""
    bc = math.sqrt(2 * S / (1 + S**2)) * math.exp(
        -(MU**2) / (4 * (1 + S**2))
    )  # Bhattacharyya coefficient
    jsd = theory.jsd(mixtures.mixture_1d([0.0], [1.0]), mixtures.mixture_1d([MU], [S]))
    return {
        "kl": math.log(S) + (1 + MU**2) / (2 * S**2) - 0.5,
        "reverse-kl": -math.log(S) + (S**2 + MU**2) / 2 - 0.5,
        "pearson": S**2 / math.sqrt(2 * S**2 - 1) * math.exp(MU**2 / (2 * S**2 - 1))
        - 1,  # ∫p²/q − 1
        "neyman": 1 / (S * math.sqrt(2 - S**2)) * math.exp(MU**2 / (2 - S**2)) - 1,  # ∫q²/p − 1
        "hellinger": 2 - 2 * bc,
        "js": 2 * jsd,
        "gan": 2 * jsd - math.log(4),
    }[name]


def _expect(dist, fn):
    """``E_dist[fn(x)]`` by adaptive quadrature over the 20-σ range where the densities live."""
    return integrate.quad(
        lambda x: dist.pdf(x) * fn(x), -20, 20, limit=200, epsabs=1e-11, epsrel=1e-11
    )[0]


def _T_star(div):
    return lambda x: div.f_prime(P.pdf(x) / Q.pdf(x))


@pytest.mark.parametrize("name", DIVS)
def test_divergence_between_two_gaussians_matches_its_closed_form(name):
    div = losses.DIVERGENCES[name]
    by_quad = _expect(Q, lambda x: div.f(P.pdf(x) / Q.pdf(x)))
    assert by_quad == pytest.approx(_closed_form(name), rel=1e-6, abs=1e-8)
    x = np.linspace(-15, 15, 30001)
    on_grid = losses.f_divergence(div, P.pdf(x), Q.pdf(x), weights=x[1] - x[0])
    assert on_grid == pytest.approx(_closed_form(name), rel=1e-6)


@pytest.mark.parametrize("name", DIVS)
def test_fgan_bound_is_tight_at_the_optimal_T_and_lower_elsewhere(name):
    div = losses.DIVERGENCES[name]
    D_f = _closed_form(name)

    def quad_bound(T):
        return _expect(P, T) - _expect(Q, lambda x: div.conjugate(T(x)))

    T_star = _T_star(div)
    assert quad_bound(T_star) == pytest.approx(D_f, rel=1e-6, abs=1e-8)
    # Other T, kept in dom f* (an interval): shifted down, or mixed with g_f of other critics
    assert quad_bound(lambda x: T_star(x) - 0.1) < D_f - 1e-4
    for V in (lambda x: 0.0 * x, lambda x: 0.5 - 0.3 * x):
        gaps = [
            D_f
            - quad_bound(lambda x, lam=lam, V=V: (1 - lam) * T_star(x) + lam * div.activation(V(x)))
            for lam in (0.05, 0.3, 1.0)
        ]
        assert 0 < gaps[0] < gaps[1] < gaps[2], gaps  # the bound is concave in T, maximal at T*


@pytest.mark.parametrize("name", ["kl", "reverse-kl", "hellinger", "js", "gan"])
def test_fgan_discriminator_loss_trained_on_samples_finds_the_divergence_and_the_optimal_T(name):
    # Between P = N(0, 1) and Q2 = N(1, 1) the optimal critic V* = g_f⁻¹(f'(p/q)) of these
    # divergences is a multiple of log(p/q) = 1/2 − x (plus 1 for KL): fit V(x) = a + b·x by
    # minimising the f-GAN loss on deterministic "samples" (quantiles) of P and Q2. The minimum is
    # −D_f(P‖Q2). (The χ² divergences are left out: their sample estimates have heavy tails,
    # E_P[(q/p)²] is lognormal.)
    Q2 = stats.norm(1.0, 1.0)
    jsd = theory.jsd(mixtures.mixture_1d([0.0], [1.0]), mixtures.mixture_1d([1.0], [1.0]))
    D_f = {
        "kl": 0.5,
        "reverse-kl": 0.5,
        "hellinger": 2 - 2 * math.exp(-1 / 8),
        "js": 2 * jsd,
        "gan": 2 * jsd - math.log(4),
    }[name]
    n = 20000
    levels = (np.arange(n) + 0.5) / n
    x_real, x_fake = torch.from_numpy(P.ppf(levels)), torch.from_numpy(Q2.ppf(levels))
    loss, div = losses.get_loss(f"fgan-{name}"), losses.DIVERGENCES[name]
    w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w],
        lr=1,
        max_iter=200,
        tolerance_grad=1e-12,
        tolerance_change=1e-14,
        line_search_fn="strong_wolfe",
    )

    def V(x):
        return w[0] + w[1] * x

    def closure():
        opt.zero_grad()
        value = loss.discriminator(V(x_real), V(x_fake))
        value.backward()
        return value

    opt.step(closure)
    assert -closure().item() == pytest.approx(D_f, rel=2e-3)
    x = np.linspace(-2, 2, 9)
    T_star = div.f_prime(P.pdf(x) / Q2.pdf(x))
    assert np.allclose(div.activation(V(torch.from_numpy(x)).detach().numpy()), T_star, atol=5e-3)

"""ganlab.games against closed forms: rotations and their growth factors on x·y, the alternating
invariant, the Dirac GAN's Jacobian and conserved radius; and the chapter 3 self-checks."""

import math

import numpy as np
import pytest
from scipy.special import expit

from ganlab import exercises, games

LRS = [0.05, 0.3, 1.0]


def radii(path):
    return np.linalg.norm(path, axis=1)


@pytest.mark.parametrize("lr", LRS)
def test_simultaneous_play_on_xy_spirals_out_by_sqrt_one_plus_lr_squared(lr):
    path = games.trajectory(games.bilinear(), (0.7, -0.4), lr, 60)
    np.testing.assert_allclose(radii(path)[1:] / radii(path)[:-1], math.sqrt(1 + lr**2), rtol=1e-12)
    np.testing.assert_allclose(path[1], [0.7 + 0.4 * lr, -0.4 + 0.7 * lr], rtol=1e-14)


@pytest.mark.parametrize("lr", LRS + [1.9])
def test_alternating_play_on_xy_conserves_the_tilted_quadratic(lr):
    path = games.trajectory(games.bilinear(), (0.7, -0.4), lr, 2000, method="alternating")
    x, y = path.T
    invariant = x**2 + y**2 - lr * x * y
    np.testing.assert_allclose(invariant, invariant[0], rtol=1e-11)
    # bounded for lr < 2: the quadratic form has eigenvalues 1 ± lr/2 > 0, its level set is an
    # ellipse whose largest radius is sqrt(invariant / (1 − lr/2))
    bound = math.sqrt(invariant[0] / (1 - lr / 2))
    assert bound * 0.95 < radii(path).max() <= bound * (1 + 1e-12)
    np.testing.assert_allclose(path[1], [0.7 + 0.4 * lr, -0.4 + lr * (0.7 + 0.4 * lr)], rtol=1e-14)


def test_alternating_play_on_xy_diverges_beyond_lr_2():
    assert (
        radii(games.trajectory(games.bilinear(), (0.7, -0.4), 2.1, 200, method="alternating"))[-1]
        > 1e3
    )


@pytest.mark.parametrize("lr,damping", [(0.1, 0.2), (0.5, 0.2), (0.3, 1.0)])
def test_damped_bilinear_contracts_by_the_closed_form_factor(lr, damping):
    path = games.trajectory(games.bilinear(damping), (1.0, 0.5), lr, 40)
    factor = math.sqrt((1 - lr * damping) ** 2 + lr**2)
    np.testing.assert_allclose(radii(path)[1:] / radii(path)[:-1], factor, rtol=1e-12)
    assert (factor < 1) == (lr < 2 * damping / (1 + damping**2))


def test_damping_equals_consensus_optimisation_on_xy():
    """v − gamma·∇(|v|²/2) for v = (−y, x) is the damped field (Mescheder et al. 2017)."""
    gamma, eps, z = 0.4, 1e-6, np.array([0.3, -1.2])

    def v(z):
        return np.array(games.bilinear().vector_field(*z))

    grad = np.array(
        [
            (v(z + eps * e) @ v(z + eps * e) - v(z - eps * e) @ v(z - eps * e)) / (4 * eps)
            for e in np.eye(2)
        ]
    )
    np.testing.assert_allclose(
        v(z) - gamma * grad, games.bilinear(gamma).vector_field(*z), atol=1e-8
    )


@pytest.mark.parametrize("lr", [0.1, 0.5, 0.9])
def test_extragradient_on_xy_contracts_by_sqrt_one_minus_lr2_plus_lr4(lr):
    path = games.trajectory(games.bilinear(), (1.0, 0.5), lr, 30, method="extragradient")
    np.testing.assert_allclose(
        radii(path)[1:] / radii(path)[:-1], math.sqrt(1 - lr**2 + lr**4), rtol=1e-12
    )


@pytest.mark.parametrize("lr", [0.1, 0.3])
def test_optimistic_play_on_xy_decays_at_the_root_of_its_recurrence(lr):
    """z_{t+1} = (1 + 2 lr A) z_t − lr A z_{t−1}; on A's eigenvalue i, mu² − (1 + 2i lr) mu + i lr =
    0.
    """
    path = games.trajectory(games.bilinear(), (1.0, 0.5), lr, 600, method="optimistic")
    rate = max(abs(np.roots([1, -(1 + 2j * lr), 1j * lr])))
    measured = (radii(path)[-1] / radii(path)[-201]) ** (1 / 200)
    assert rate < 1
    assert measured == pytest.approx(rate, rel=1e-6)


@pytest.mark.parametrize("beta", [-0.5, 0.5, 0.9])
def test_heavy_ball_on_xy_grows_at_the_root_of_its_recurrence(beta):
    """z_{t+1} = (1 + beta + lr A) z_t − beta z_{t−1}; on A's eigenvalue i,
    mu² − (1 + beta + i lr) mu + beta = 0: positive momentum spirals out faster."""
    lr = 0.3
    path = games.trajectory(games.bilinear(), (1.0, 0.5), lr, 300, momentum=beta)
    rate = max(abs(np.roots([1, -(1 + beta + 1j * lr), beta])))
    measured = (radii(path)[-1] / radii(path)[-101]) ** (1 / 100)
    assert measured == pytest.approx(rate, rel=1e-6)
    assert (rate > math.sqrt(1 + lr**2)) == (beta > 0)  # momentum 0: sqrt(1 + lr²)


def test_heavy_ball_first_step_is_plain_and_then_carries_the_velocity():
    lr, beta = 0.3, 0.5
    path = games.trajectory(games.bilinear(), (1.0, 0.0), lr, 2, momentum=beta)
    plain = games.trajectory(games.bilinear(), (1.0, 0.0), lr, 2)
    np.testing.assert_allclose(path[1], plain[1], rtol=1e-15)
    z1 = path[1]
    np.testing.assert_allclose(
        path[2], z1 + lr * np.array([-z1[1], z1[0]]) + beta * (z1 - path[0]), rtol=1e-14
    )


def test_negative_momentum_with_alternating_steps_converges_on_xy():
    """Gidel et al. (2019): alternating play cycles; with beta < 0 it converges, with beta > 0 it
    diverges."""
    start, lr = (1.0, 0.5), 0.3

    def final(beta):
        return radii(games.trajectory(games.bilinear(), start, lr, 300, "alternating", beta))[-1]

    assert final(-0.5) < 0.05 and 0.5 < final(0.0) < 2.0 and final(0.5) > 1e6


def test_heavy_momentum_breaks_r1_convergence_on_the_dirac_gan():
    game = games.dirac_gan(gamma=0.3)
    ends = [radii(games.trajectory(game, (1.0, 1.0), 0.2, 1500, momentum=b))[-1] for b in (0, 0.9)]
    assert ends[0] < 1e-6 and ends[1] > 1.0


def test_dirac_wgan_value_field_and_clipping():
    theta, psi, gamma = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.7]), 0.6
    game = games.dirac_wgan(clip=None, gamma=gamma)
    expected = -psi * theta - gamma / 2 * (np.abs(psi) - 1) ** 2
    np.testing.assert_allclose(game.value(theta, psi), expected, rtol=1e-12)
    eps = 1e-6
    np.testing.assert_allclose(
        game.vector_field(theta, psi)[0],
        -(game.value(theta + eps, psi) - game.value(theta - eps, psi)) / (2 * eps),
        atol=1e-8,
    )
    np.testing.assert_allclose(
        game.vector_field(theta, psi)[1],
        (game.value(theta, psi + eps) - game.value(theta, psi - eps)) / (2 * eps),
        atol=1e-8,
    )
    assert game.project is None
    path = games.trajectory(games.dirac_wgan(clip=0.5), (1.0, 0.4), 0.2, 200)
    assert np.abs(path[:, 1]).max() <= 0.5 and np.isclose(np.abs(path[:, 1]).max(), 0.5)


@pytest.mark.parametrize("method", ["simultaneous", "alternating"])
def test_wgan_and_wgan_gp_do_not_converge_on_the_dirac_gan_but_r1_does(method):
    """Mescheder et al. (2018): the distance to the equilibrium stays of order one."""
    start, lr, n = (1.0, 1.0), 0.2, 3000
    for game in [games.dirac_wgan(clip=1.0), games.dirac_wgan(clip=None, gamma=1.0)]:
        theta = games.trajectory(game, start, lr, n, method)[-n // 5 :, 0]
        assert np.abs(theta).max() > 0.5, game.name
    r1 = games.trajectory(games.dirac_gan(gamma=1.0), start, lr, n, method)
    assert radii(r1)[-1] < 1e-6


def test_flow_on_xy_is_a_rotation():
    t, path = games.flow(games.bilinear(), (1.0, 0.0), t_max=2 * math.pi, num_points=9)
    np.testing.assert_allclose(path, np.stack([np.cos(t), np.sin(t)], axis=1), atol=1e-8)


def test_dirac_gan_value_and_field_match_the_formulas():
    theta, psi, gamma = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.7]), 0.6
    game = games.dirac_gan(gamma=gamma)
    expected = np.log(expit(0.0)) + np.log(1 - expit(psi * theta)) - gamma / 2 * psi**2
    np.testing.assert_allclose(game.value(theta, psi), expected, rtol=1e-12)
    eps = 1e-6  # the field is (−∂V/∂θ, +∂V/∂ψ)
    np.testing.assert_allclose(
        game.vector_field(theta, psi)[0],
        -(game.value(theta + eps, psi) - game.value(theta - eps, psi)) / (2 * eps),
        atol=1e-8,
    )
    np.testing.assert_allclose(
        game.vector_field(theta, psi)[1],
        (game.value(theta, psi + eps) - game.value(theta, psi - eps)) / (2 * eps),
        atol=1e-8,
    )

    def loss_g(t):  # the non-saturating generator loss −log D(θ)
        return -np.log(expit(t * psi))

    np.testing.assert_allclose(
        games.dirac_gan("nonsaturating").vector_field(theta, psi)[0],
        -(loss_g(theta + eps) - loss_g(theta - eps)) / (2 * eps),
        atol=1e-8,
    )


def test_dirac_gan_jacobian_has_imaginary_eigenvalues_without_regularisation():
    for loss in games.DIRAC_LOSSES:
        eig = np.linalg.eigvals(games.jacobian(games.dirac_gan(loss)))
        np.testing.assert_allclose(
            sorted(eig.imag), [-0.5, 0.5], atol=1e-9
        )  # ±i·|f'(0)|, f'(0) = −σ(0)
        np.testing.assert_allclose(eig.real, 0.0, atol=1e-9)


@pytest.mark.parametrize("gamma", [0.1, 0.5, 1.0, 3.0])
def test_r1_moves_the_eigenvalues_to_the_left_half_plane(gamma):
    eig = np.sort_complex(np.linalg.eigvals(games.jacobian(games.dirac_gan(gamma=gamma))))
    expected = np.sort_complex(-gamma / 2 + np.array([-1, 1]) * np.sqrt(complex(gamma**2 - 1)) / 2)
    np.testing.assert_allclose(eig, expected, atol=1e-7)
    assert eig.real.max() < 0
    # ... and simultaneous gradient steps then converge to the equilibrium
    assert radii(games.trajectory(games.dirac_gan(gamma=gamma), (1.0, 1.0), 0.2, 3000))[-1] < 1e-6


def test_dirac_flow_conserves_the_radius_and_simultaneous_steps_grow_it():
    game = games.dirac_gan()
    _, path = games.flow(game, (1.0, 0.5), t_max=100.0)
    np.testing.assert_allclose(radii(path) ** 2, 1.25, rtol=1e-8)
    lr, path = 0.2, games.trajectory(game, (1.0, 0.5), 0.2, 300)
    theta, psi = path[:-1].T  # v ⟂ z, so |z'|² = |z|² + lr²|v|² = |z|²(1 + lr²σ(θψ)²) exactly
    np.testing.assert_allclose(
        radii(path)[1:], radii(path)[:-1] * np.sqrt(1 + lr**2 * expit(theta * psi) ** 2), rtol=1e-12
    )


def test_nonsaturating_flow_never_moves_away():
    """d|z|²/dt = −2t·tanh(t/2) ≤ 0 with t = θψ for the non-saturating Dirac GAN."""
    _, path = games.flow(games.dirac_gan("nonsaturating"), (1.0, 1.0), t_max=50.0)
    assert np.all(np.diff(radii(path)) <= 1e-9) and radii(path)[-1] < 0.6


def test_jacobian_by_central_differences_is_exact_on_a_linear_field():
    np.testing.assert_allclose(
        games.jacobian(games.bilinear(0.3), (2.0, -1.0)), [[-0.3, -1], [1, -0.3]], atol=1e-9
    )


def test_field_on_grid_shapes_and_orientation():
    xs, ys, U, V = games.field_on_grid(games.bilinear(), lim=1.0, n=5)
    assert U.shape == V.shape == (5, 5)
    np.testing.assert_allclose(U[:, 0], -ys)  # v_x = −y on every row
    np.testing.assert_allclose(V[0, :], xs)  # v_y = x on every column


def test_plot_game_draws_paths(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    path = games.trajectory(games.bilinear(), (1.0, 0.0), 0.1, 10)
    ax = games.plot_game(games.bilinear(), {"simultaneous": path}, lim=1.5, n=9)
    assert ax.get_xlim() == (-1.5, 1.5)
    np.testing.assert_allclose(ax.lines[0].get_xydata(), path)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: games.trajectory(games.bilinear(), (1, 0), 0.0, 10), "lr must be a positive"),
        (lambda: games.trajectory(games.bilinear(), (1, 0), -0.1, 10), "lr must be a positive"),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0), 0.1, 0),
            "num_steps must be an integer",
        ),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0), 0.1, 2.5),
            "num_steps must be an integer",
        ),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0), 0.1, 10, method="sim"),
            "unknown method 'sim'; choose",
        ),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0, 2), 0.1, 10),
            "start must be two finite numbers",
        ),
        (
            lambda: games.trajectory(games.bilinear(), (np.nan, 0), 0.1, 10),
            "start must be two finite numbers",
        ),
        (
            lambda: games.dirac_gan("wgan"),
            "unknown loss 'wgan'; choose one of: minimax, nonsaturating",
        ),
        (lambda: games.dirac_gan(gamma=-1.0), "gamma must be a finite number >= 0"),
        (lambda: games.dirac_wgan(clip=0.0), "clip must be a positive"),
        (lambda: games.dirac_wgan(gamma=-1.0), "gamma must be a finite number >= 0"),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0), 0.1, 10, momentum=1.0),
            "momentum must be a number in",
        ),
        (
            lambda: games.trajectory(games.bilinear(), (1, 0), 0.1, 10, "optimistic", 0.5),
            "momentum works with method 'simultaneous' or 'alternating'",
        ),
        (lambda: games.bilinear(damping=float("inf")), "damping must be a finite number >= 0"),
        (lambda: games.flow(games.bilinear(), (1, 0), t_max=0), "t_max must be a positive"),
        (lambda: games.field_on_grid(games.bilinear(), n=1), "n must be at least 2"),
    ],
)
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        call()


def test_simultaneous_step_check_right_and_the_usual_mistakes():
    assert exercises.check_simultaneous_step(lambda x, y, lr: (x - lr * y, y + lr * x))
    cases = {
        "alternating": lambda x, y, lr: (x - lr * y, y + lr * (x - lr * y)),
        "ascent": lambda x, y, lr: (x - lr * y, y - lr * x),
        "descent": lambda x, y, lr: (x + lr * y, y + lr * x),
        "swapped": lambda x, y, lr: (x + lr * y, y - lr * x),
        "own coordinate": lambda x, y, lr: (x - lr * x, y + lr * y),
        "step size": lambda x, y, lr: (x - y, y + x),
        "nothing moved": lambda x, y, lr: (x, y),
        "shape": lambda x, y, lr: x - lr * y,
        "ZeroDivisionError": lambda x, y, lr: 1 / 0,
        "not one simultaneous step": lambda x, y, lr: (x - 2 * lr * y, y + lr * x),
    }
    for word, fn in cases.items():
        check = exercises.check_simultaneous_step(fn)
        assert not check and word in check.message, (word, check.message)


def test_dirac_field_check_right_and_the_usual_mistakes():
    def right(t, p, g):
        return games.dirac_gan(gamma=g).vector_field(t, p)

    def s(t, p):
        return expit(t * p)

    assert exercises.check_dirac_field(right)
    cases = {
        "non-saturating": lambda t, p, g: (p * expit(-t * p), -t * s(t, p) - g * p),
        "d_theta has the wrong sign": lambda t, p, g: (-p * s(t, p), -t * s(t, p) - g * p),
        "d_theta lacks the factor": lambda t, p, g: (p, -t * s(t, p) - g * p),
        "d_psi has the wrong sign": lambda t, p, g: (p * s(t, p), t * s(t, p) + g * p),
        "lacks the R1 term": lambda t, p, g: (p * s(t, p), -t * s(t, p)),
        "not γψ/2": lambda t, p, g: (p * s(t, p), -t * s(t, p) - g * p / 2),
        "contributes −γψ": lambda t, p, g: (p * s(t, p), -t * s(t, p) + g * p),
        "d_psi lacks the factor": lambda t, p, g: (p * s(t, p), -t - g * p),
        "d_psi is off": lambda t, p, g: (p * s(t, p), -2 * t * s(t, p)),
        "shape": lambda t, p, g: (p, p, p),
    }
    for word, fn in cases.items():
        check = exercises.check_dirac_field(fn)
        assert not check and word in check.message, (word, check.message)

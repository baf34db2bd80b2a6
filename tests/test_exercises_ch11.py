"""Chapter 11 self-checks: right answers pass, typical wrong ones get their hint."""

import numpy as np

from ganlab import exercises


def right_projection(xi, w, b, E, y):
    return xi @ w + b + (E[y] * xi).sum(1)


def test_projection_logit_right_and_matches_the_model():
    import torch

    from ganlab.models import MLPDiscriminator

    assert exercises.check_projection_logit(right_projection)
    # the oracle: the projection discriminator of ganlab.models computes the same logit
    D = MLPDiscriminator(3, hidden=8, depth=2, num_classes=4, conditioning="projection")
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 2, 3, 1])
    with torch.no_grad():
        xi = D.net[:-1](x)
        last = D.net[-1]
        ours = right_projection(
            xi.numpy(), last.weight[0].numpy(), float(last.bias), D.embed.weight.numpy(), y.numpy()
        )
        np.testing.assert_allclose(ours, D(x, y).numpy(), rtol=1e-5, atol=1e-6)


def test_projection_logit_wrong_answers():
    inner_only = exercises.check_projection_logit(lambda xi, w, b, E, y: (E[y] * xi).sum(1))
    assert not inner_only and "unconditional part" in inner_only.message
    psi_only = exercises.check_projection_logit(lambda xi, w, b, E, y: xi @ w + b)
    assert not psi_only and "ignores the label" in psi_only.message
    no_bias = exercises.check_projection_logit(lambda xi, w, b, E, y: xi @ w + (E[y] * xi).sum(1))
    assert not no_bias and "bias" in no_bias.message
    all_classes = exercises.check_projection_logit(
        lambda xi, w, b, E, y: (xi @ w + b)[:, None] + xi @ E.T
    )
    assert not all_classes and "one logit per class" in all_classes.message
    crash = exercises.check_projection_logit(lambda xi, w, b, E, y: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message


def power_iteration(W, num_steps=2000):
    v = np.ones(W.shape[1]) / np.sqrt(W.shape[1])
    for _ in range(num_steps):
        v = W.T @ (W @ v)
        v /= np.linalg.norm(v)
    return np.linalg.norm(W @ v)


def test_spectral_norm_right():
    assert exercises.check_spectral_norm(power_iteration)
    assert exercises.check_spectral_norm(lambda W: np.linalg.svd(W, compute_uv=False)[0])
    assert exercises.check_spectral_norm(lambda W: np.linalg.norm(W, 2))


def test_spectral_norm_wrong_answers():
    squared = exercises.check_spectral_norm(lambda W: power_iteration(W) ** 2)
    assert not squared and "σ²" in squared.message
    frobenius = exercises.check_spectral_norm(lambda W: np.linalg.norm(W))
    assert not frobenius and "Frobenius" in frobenius.message
    eigen = exercises.check_spectral_norm(lambda W: np.max(np.abs(np.linalg.eigvals(W))))
    assert not eigen and "eigenvalue" in eigen.message
    few_steps = exercises.check_spectral_norm(lambda W: power_iteration(W, num_steps=5))
    assert not few_steps and "not converged" in few_steps.message
    vector = exercises.check_spectral_norm(lambda W: np.linalg.svd(W, compute_uv=False))
    assert not vector and "one number" in vector.message


def test_the_notebook_placeholders_get_a_hint_not_an_error():
    placeholder = exercises.check_projection_logit(lambda xi, w, b, E, y: xi @ w + b)
    assert not placeholder and placeholder.message
    largest_entry = exercises.check_spectral_norm(lambda W: np.abs(W).max())
    assert not largest_entry and "largest entry" in largest_entry.message
    class_times_w = exercises.check_projection_logit(lambda xi, w, b, E, y: xi @ w + b + E[y] @ w)
    assert not class_times_w and "features ξ(x) of this image" in class_times_w.message

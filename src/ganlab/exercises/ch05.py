"""Chapter 5 self-checks: one alternating training step, written by hand."""

from __future__ import annotations

import copy

import torch

from ..losses import discriminator_bce, generator_minimax, generator_nonsaturating
from ..models import MLPDiscriminator, MLPGenerator
from ._check import Check, not_answered

__all__ = ["check_training_step"]


def _step(
    G,
    D,
    opt_g,
    opt_d,
    x_real,
    z_d,
    z_g,
    *,
    detach=True,
    zero_d=True,
    zero_g=True,
    step_d_in_g=False,
    reuse_noise=False,
    g_loss="nonsaturating",
    swap_labels=False,
    g_first=False,
):
    """The reference step (all defaults) and its usual mistakes (one keyword each)."""

    def d_step():
        if zero_d:
            opt_d.zero_grad()
        x_fake = G(z_d)
        if detach:
            x_fake = x_fake.detach()
        logits_real, logits_fake = D(x_real), D(x_fake)
        if swap_labels:
            logits_real, logits_fake = logits_fake, logits_real
        loss_d = discriminator_bce(logits_real, logits_fake)
        loss_d.backward()
        opt_d.step()

    def g_step():
        if zero_g:
            opt_g.zero_grad()
        logits = D(G(z_d if reuse_noise else z_g))
        loss_g = {
            "nonsaturating": generator_nonsaturating,
            "minimax": generator_minimax,
            "label 0": lambda l: -generator_minimax(l),
        }[g_loss](logits)
        loss_g.backward()
        opt_g.step()
        if step_d_in_g:
            opt_d.step()

    for part in (g_step, d_step) if g_first else (d_step, g_step):
        part()


_MISTAKES = [
    (
        dict(zero_d=False),
        "D's update used stale gradients: the previous G step's backward also filled D's .grad "
        "(gradients flow through D into G). Call opt_d.zero_grad() before loss_d.backward()",
    ),
    (
        dict(zero_g=False),
        "G's update used stale gradients left from the previous step: call opt_g.zero_grad() "
        "before loss_g.backward()",
    ),
    (
        dict(detach=False, zero_g=False),
        "G's update includes the gradient of D's loss: x_fake was not detached in the "
        "D step, so loss_d.backward() also wrote into G's .grad, and it was not "
        "cleared. Detach x_fake (or build it under torch.no_grad()) and call "
        "opt_g.zero_grad() before the G step",
    ),
    (
        dict(detach=False, zero_d=False, zero_g=False),
        "no gradients were cleared and x_fake was not detached: call "
        "opt_d.zero_grad() / opt_g.zero_grad() before each backward and "
        "detach x_fake in the D step",
    ),
    (
        dict(step_d_in_g=True),
        "D was updated in the G step too: the G step's backward fills D's .grad (the gradient "
        "passes through D), but only opt_g.step() belongs there",
    ),
    (
        dict(zero_d=False, step_d_in_g=True),
        "D was updated in the G step, and with stale gradients: only "
        "opt_g.step() belongs in the G step, and opt_d.zero_grad() comes first "
        "in the D step",
    ),
    (dict(reuse_noise=True), "the G step reused z_d: it must use its own fresh noise z_g"),
    (
        dict(g_loss="minimax"),
        "G used the minimax loss log(1 − D(G(z))); this step uses the non-saturating "
        "−log D(G(z)), i.e. BCE of D(G(z)) against label 1",
    ),
    (
        dict(g_loss="label 0"),
        "G's loss has the wrong label: BCE against label 0 makes G help D. G wants "
        "D(G(z)) → 1: use BCE against label 1 (the non-saturating loss)",
    ),
    (
        dict(g_first=True),
        "you updated G first: the D step comes first, so that G is trained against the freshly "
        "updated D",
    ),
    (
        dict(swap_labels=True),
        "D's labels are swapped: real samples get label 1 and generated samples label 0",
    ),
]


def _flat(module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in module.parameters()]).double()


def _setup():
    """A tiny seeded G and D with stale gradients (as after a previous G step), SGD optimizers, and
    data.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        G, D = MLPGenerator(2, 1, hidden=8, depth=1), MLPDiscriminator(1, hidden=8, depth=1)
        gen = torch.Generator().manual_seed(6)
        x_real = 2.0 + 0.5 * torch.randn(32, 1, generator=gen)
        z_prev, z_d, z_g = (torch.randn(32, 2, generator=gen) for _ in range(3))
    generator_nonsaturating(
        D(G(z_prev))
    ).backward()  # the previous G step: both G and D now hold gradients
    return G, D, x_real, z_d, z_g


def _run(step_fn, G, D, x_real, z_d, z_g, **mistake):
    """Apply ``step_fn`` (or the reference with ``mistake``) to copies; return (G, D, backward
    passes into G).
    """
    G_old, D_old = G, D
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    for new, old in zip(
        [*G.parameters(), *D.parameters()], [*G_old.parameters(), *D_old.parameters()]
    ):
        new.grad = (
            old.grad.clone()
        )  # deepcopy drops .grad; the stale gradients are part of the test
    opt_g, opt_d = torch.optim.SGD(G.parameters(), lr=0.1), torch.optim.SGD(D.parameters(), lr=0.1)
    calls = []
    hook = next(G.parameters()).register_hook(lambda grad: calls.append(1))
    if step_fn is None:
        _step(G, D, opt_g, opt_d, x_real.clone(), z_d.clone(), z_g.clone(), **mistake)
    else:
        step_fn(G, D, opt_g, opt_d, x_real.clone(), z_d.clone(), z_g.clone())
    hook.remove()
    return _flat(G), _flat(D), len(calls)


def check_training_step(fn) -> Check:
    """Check ``fn(G, D, opt_g, opt_d, x_real, z_d, z_g)``: one alternating step, updating G and D in
    place.

    The step must: clear D's gradients; compute ``discriminator_bce(D(x_real), D(x_fake))`` with
    ``x_fake = G(z_d)`` detached; step ``opt_d``; clear G's gradients; compute the non-saturating
    loss ``generator_nonsaturating(D(G(z_g)))``; step ``opt_g`` (and only ``opt_g``). The check runs
    it on a tiny seeded G and D whose ``.grad`` still holds the previous step's gradients.
    """
    G0, D0, x_real, z_d, z_g = _setup()
    g_ref, d_ref, _ = _run(None, G0, D0, x_real, z_d, z_g)
    try:
        g_out, d_out, backward_into_g = _run(fn, G0, D0, x_real, z_d, z_g)
    except NotImplementedError:  # the stub (the step returns None when it is done: not a stub sign)
        return not_answered()
    except Exception as error:  # the student's code: report, don't crash the notebook
        return Check(False, f"your function raised {type(error).__name__}: {error}")

    def close(a, b):
        return torch.allclose(a, b, rtol=1e-5, atol=1e-6)

    if close(g_out, g_ref) and close(d_out, d_ref):
        if backward_into_g > 1:
            return Check(
                False,
                "the updates are right, but D's loss was also backpropagated into G: detach x_fake "
                "in the D step (or build it under torch.no_grad()). As written it wastes a "
                "backward pass through G, and becomes a bug the day G's gradients are not cleared",
            )
        return Check(
            True,
            "right: D step on detached fakes with fresh gradients, then a G step whose gradient "
            "flows through D, updating only G",
        )
    if close(g_out, _flat(G0)) and close(d_out, _flat(D0)):
        return Check(
            False,
            "neither G nor D changed: call opt_d.step() after loss_d.backward() and opt_g.step() "
            "after loss_g.backward()",
        )
    if close(g_out, _flat(G0)):
        return Check(False, "G did not change: call opt_g.step() after loss_g.backward()")
    if close(d_out, _flat(D0)):
        return Check(False, "D did not change: call opt_d.step() after loss_d.backward()")
    for mistake, message in _MISTAKES:
        g_bad, d_bad, _ = _run(None, G0, D0, x_real, z_d, z_g, **mistake)
        if close(g_out, g_bad) and close(d_out, d_bad):
            return Check(False, message)
    if close(d_out, d_ref):
        return Check(
            False,
            "D's update is right but G's is not: G's loss is generator_nonsaturating(D(G(z_g))), "
            "computed after D's step, with G's gradients cleared first",
        )
    return Check(
        False,
        "D's update differs from the reference: clear D's gradients, then minimise "
        "discriminator_bce(D(x_real), D(G(z_d).detach())) with one opt_d.step()",
    )

"""Chapter 8 self-checks: the DCGAN's shapes and sizes."""

from __future__ import annotations

from ._check import Check, Unanswered, not_answered, run

__all__ = ["check_conv_transpose_size", "check_generator_params"]


def check_conv_transpose_size(fn) -> Check:
    """Check ``fn(size, kernel, stride, padding) -> output side`` of a transposed convolution."""
    cases = [
        (1, 4, 1, 0),
        (4, 4, 2, 1),
        (8, 4, 2, 1),
        (16, 4, 2, 1),
        (5, 3, 2, 0),
        (7, 5, 3, 2),
        (3, 2, 1, 0),
    ]
    for size, kernel, stride, padding in cases:
        expected = (size - 1) * stride - 2 * padding + kernel
        try:
            out = run(fn, size, kernel, stride, padding)
        except Unanswered:
            return not_answered()
        except Exception as error:  # the student's code: report, don't crash the notebook
            return Check(False, f"your function raised {type(error).__name__}: {error}")
        if out == expected:
            continue
        args = f"size={size}, kernel={kernel}, stride={stride}, padding={padding}"
        if out == (size + 2 * padding - kernel) // stride + 1:
            return Check(
                False,
                f"for {args} you give the output of an ordinary (strided) convolution, {out}; "
                "a transposed convolution runs that map backwards",
            )
        if out == size * stride:
            return Check(
                False,
                f"for {args} you give size × stride = {out}; right for the DCGAN's (4, 2, 1) "
                "layers only. Count how far the last kernel placement reaches: expected "
                f"{expected}",
            )
        return Check(
            False,
            f"for {args} expected {expected}, got {out}: each of the `size` inputs places a kernel "
            "`stride` pixels after the previous one, then `padding` pixels are cut from each side",
        )
    return Check(
        True, "right: out = (size − 1)·stride − 2·padding + kernel; with (4, 2, 1) the side doubles"
    )


def check_generator_params(fn) -> Check:
    """Check
    ``fn(latent_dim, channels, image_size, width) -> number of parameters of DCGANGenerator``.
    """
    from ..models import (
        DCGANGenerator,
    )  # imported here: the exercises must not load the models on import

    for args in [(100, 3, 64, 64), (100, 1, 32, 64), (16, 1, 16, 8), (64, 3, 32, 32)]:
        expected = sum(p.numel() for p in DCGANGenerator(*args).parameters())
        try:
            out = run(fn, *args)
        except Unanswered:
            return not_answered()
        except Exception as error:
            return Check(False, f"your function raised {type(error).__name__}: {error}")
        if out == expected:
            continue
        where = "latent_dim={}, channels={}, image_size={}, width={}".format(*args)
        G = DCGANGenerator(*args)
        convs = sum(m.weight.numel() for m in G.modules() if hasattr(m, "kernel_size"))
        if out == convs:
            return Check(
                False,
                f"for {where} you counted the convolutions only ({out}); each batch norm "
                "adds a scale and a shift per channel",
            )
        if 0 < out - expected < 5000:
            return Check(
                False,
                f"for {where} you have {out - expected} too many: the DCGAN's convolutions have "
                "no bias (batch norm's shift does that job), and the last layer has no batch norm",
            )
        return Check(
            False,
            f"for {where} expected {expected:,}, got {out:,}: a 4×4 transposed convolution from "
            "a to b channels has a·b·16 weights; batch norm adds 2 per channel",
        )
    return Check(
        True, "right: 3,576,704 parameters at 64×64×3 with width 64, as in pytorch/examples"
    )

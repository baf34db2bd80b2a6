"""Chapter 8 self-checks: right answers pass, typical wrong ones get their hint."""

from ganlab import exercises


def test_conv_transpose_size():
    assert exercises.check_conv_transpose_size(lambda s, k, st, p: (s - 1) * st - 2 * p + k)
    wrong = exercises.check_conv_transpose_size(lambda s, k, st, p: (s + 2 * p - k) // st + 1)
    assert not wrong and "ordinary (strided) convolution" in wrong.message
    doubling = exercises.check_conv_transpose_size(lambda s, k, st, p: s * st if s > 1 else k)
    assert not doubling and "size × stride" in doubling.message
    crash = exercises.check_conv_transpose_size(lambda s, k, st, p: 1 / 0)
    assert not crash and "ZeroDivisionError" in crash.message


def right_params(latent_dim, channels, image_size, width):
    n = image_size.bit_length() - 3
    widths = [width * 2**i for i in reversed(range(n))]
    total = latent_dim * widths[0] * 16 + 2 * widths[0]
    total += sum(a * b * 16 + 2 * b for a, b in zip(widths, widths[1:]))
    return total + widths[-1] * channels * 16


def test_generator_params():
    assert exercises.check_generator_params(right_params)
    convs_only = exercises.check_generator_params(
        lambda *a: right_params(*a) - 2 * sum(a[3] * 2**i for i in range(a[2].bit_length() - 3))
    )
    assert not convs_only and "batch norm" in convs_only.message
    with_bias = exercises.check_generator_params(lambda *a: right_params(*a) + a[1])
    assert not with_bias and "no bias" in with_bias.message

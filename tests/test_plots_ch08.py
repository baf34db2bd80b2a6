"""Chapter 8's pictures: the transposed convolution as stamps and the DCGAN stack are computed
from the layers they draw, fit the column, use no small fonts, and come out as vector graphics."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from ganlab import plots  # noqa: E402
from ganlab.models import dcgan  # noqa: E402


@pytest.mark.parametrize("n, k, s, p", [(2, 4, 2, 1), (3, 3, 2, 0), (1, 4, 1, 0), (4, 4, 2, 1)])
def test_stamp_counts_are_the_transposed_convolution_of_ones(n, k, s, p):
    counts = plots.stamp_counts(n, k, s, p)
    assert counts.shape == ((n - 1) * s - 2 * p + k,) * 2
    layer = torch.nn.ConvTranspose2d(1, 1, k, s, p, bias=False)
    layer.weight.data.fill_(1.0)
    with torch.no_grad():
        expected = layer(torch.ones(1, 1, n, n))[0, 0].numpy()
    assert np.array_equal(counts, expected.round())
    # without padding every stamp lies inside: the counts add up to n² stamps of k² pixels
    assert plots.stamp_counts(n, k, s, 0).sum() == n * n * k * k


def test_stamp_counts_reject_bad_sizes():
    with pytest.raises(ValueError, match="stride"):
        plots.stamp_counts(2, 4, 0, 1)
    with pytest.raises(ValueError, match="padding"):
        plots.stamp_counts(1, 2, 1, 1)


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_stamps_picture_shows_the_dcgan_layer_and_its_counts():
    plots.book_style()
    fig = plots.transposed_conv_stamps()
    texts = [t.get_text() for t in _texts(fig)]
    assert fig.get_figwidth() <= plots.COLUMN_WIDTH
    assert min(t.get_fontsize() for t in _texts(fig)) >= 10
    assert "input 2×2" in texts and "kernel 4×4" in texts
    assert any("output 4×4" in t for t in texts)
    # one number per pixel of the 6×6 stamp area: four 4s where all four stamps overlap
    assert sorted(t for t in texts if t.isdigit()).count("4") == 4
    plt.close(fig)


def test_dcgan_stack_is_computed_from_the_models_and_drawn_as_svg():
    pytest.importorskip("IPython")
    plots.book_style()
    G, D = dcgan(100, channels=3, image_size=64, width=64)
    G.train()
    fig = plots.dcgan_stack(G, D)
    assert G.training and D.training  # the modes are restored
    texts = [t.get_text() for t in _texts(fig)]
    for label in ("z: 100", "4×4×512", "8×8×256", "16×16×128", "32×32×64", "64×64×3", "logit ℓ"):
        assert label in texts, label
    assert texts.count("64×64×3") == 2  # G's output is D's input
    assert fig.get_figwidth() <= plots.COLUMN_WIDTH
    assert min(t.get_fontsize() for t in _texts(fig)) >= 10
    G_small, _ = dcgan(32, channels=1, image_size=16, width=32)
    small = plots.dcgan_stack(G_small)  # G only: one row
    small_texts = [t.get_text() for t in _texts(small)]
    assert "16×16×1" in small_texts and "4×4×64" in small_texts and "logit ℓ" not in small_texts
    plt.close(small)
    svg = plots.as_svg(fig)
    assert svg.data.lstrip().startswith("<svg")

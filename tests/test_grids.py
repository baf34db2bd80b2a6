"""Image grids, fixed-noise snapshots, interpolation, and the History's CSV files."""

import csv

import matplotlib.pyplot as plt
import pytest
import torch

import ganlab
from ganlab import grids
from ganlab.models import dcgan, render


def test_grid_tiles_images_in_order_with_white_gaps():
    images = torch.stack([torch.full((1, 2, 2), v) for v in (-1.0, 0.0, 1.0)])  # black, grey, white
    g = grids.image_grid(images, nrow=2, padding=1)
    assert g.shape == (1 + 2 * 3, 1 + 2 * 3)  # 2 rows x 2 columns of 2x2 images, 1-pixel gaps
    assert g[1, 1] == 0 and g[1, 4] == 0.5 and g[4, 1] == 1  # row-major: image 2 starts row 2
    assert g[0, 0] == 1 and g[4, 4] == 1  # gaps and the empty slot are white
    rgb = grids.image_grid(torch.zeros(5, 3, 4, 4), nrow=8)
    assert rgb.shape == (4 + 2 * 2, 5 * 6 + 2, 3)


def test_grid_errors_and_single_image():
    with pytest.raises(ValueError, match=r"shape \(N, 1 or 3, H, W\), got \(2, 2, 4, 4\)"):
        grids.image_grid(torch.zeros(2, 2, 4, 4))
    assert grids.image_grid(torch.zeros(1, 5, 5), padding=0).shape == (5, 5)


def test_save_and_show(tmp_path):
    path = grids.save_grid(torch.rand(6, 1, 8, 8) * 2 - 1, tmp_path / "x" / "g.png", nrow=3)
    back = plt.imread(path)
    assert back.shape[:2] == (2 + 2 * 10, 2 + 3 * 10)
    ax = grids.show_grid(torch.zeros(4, 3, 8, 8), title="t")
    assert ax.get_title() == "t"
    plt.close("all")


def test_render_leaves_batchnorm_statistics_alone_and_restores_mode():
    G, _ = dcgan(8, 1, 16, 8)
    before = [b.clone() for b in G.buffers()]
    G.eval()
    x = render(G, torch.randn(10, 8), batch_size=4)
    assert x.shape == (10, 1, 16, 16) and not G.training
    assert all(torch.equal(a, b) for a, b in zip(before, G.buffers()))
    z = torch.randn(3, 8)
    # eval mode: each image depends on its own z only
    assert torch.allclose(
        render(G, z, batch_stats=False)[:1],
        render(G, z[:1], batch_stats=False),
        atol=1e-6,
    )


def test_snapshots_record_fixed_noise_grids(tmp_path):
    G, D = dcgan(8, 1, 16, 8)
    snaps = grids.GridSnapshots(latent_dim=8, n=16, every=2, out_dir=tmp_path)
    images = torch.rand(32, 1, 16, 16) * 2 - 1
    cfg = ganlab.TrainConfig(
        num_steps=4, batch_real=8, batch_fake=8, batch_g=8, progress=False, device="cpu"
    )
    ganlab.train(
        G, D, lambda n, g: images[torch.randint(32, (n,), generator=g)], cfg, callbacks=[snaps]
    )
    assert [s for s, _ in snaps.frames] == [1, 2, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "step_000001.png",
        "step_000002.png",
        "step_000004.png",
    ]
    assert not torch.equal(snaps.frames[0][1], snaps.frames[-1][1])  # G changed; z did not
    anim = grids.animate_grids(snaps)
    html = ganlab.plots.animation_html(anim)
    assert html.count("data:image/png;base64") == 3
    with pytest.raises(ValueError, match="no grids recorded"):
        grids.animate_grids(grids.GridSnapshots(8))


def test_slerp_keeps_norms_and_hits_the_ends():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(100, generator=g), torch.randn(100, generator=g)
    z1 = z1 / z1.norm() * z0.norm()
    path = grids.slerp(z0, z1, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], z0, atol=1e-5) and torch.allclose(path[-1], z1, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), z0.norm().expand(5), rtol=1e-4)  # on the sphere
    assert torch.lerp(z0, z1, 0.5).norm() < 0.8 * z0.norm()  # the chord dips inside
    G, _ = dcgan(100, 1, 16, 8)
    assert grids.interpolate(G, z0, z1, steps=6).shape == (6, 1, 16, 16)


def test_history_csv_files(tmp_path):
    h = ganlab.History(
        step=[1, 2], loss_d=[1.5, 1.25], loss_g=[0.5, 0.75], d_real=[0.5, 0.6], d_fake=[0.4, 0.3]
    )
    h.log_metric("fd", 2, 3.5)
    path = h.to_csv(tmp_path / "h.csv")
    rows = list(csv.DictReader(path.open()))
    assert rows[1] == {
        "step": "2",
        "loss_d": "1.25",
        "loss_g": "0.75",
        "d_real": "0.6",
        "d_fake": "0.3",
    }
    metrics = list(csv.DictReader((tmp_path / "h_metrics.csv").open()))
    assert metrics == [{"step": "2", "metric": "fd", "value": "3.5"}]


def test_drawing_lives_in_models_only():
    for name in ("render", "fixed_noise", "generate", "sample_class", "frozen"):
        assert not hasattr(grids, name), f"grids.{name} would be a second name for models.{name}"
        assert callable(getattr(ganlab.models, name))

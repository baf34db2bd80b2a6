"""ganlab.data: the offline digits, resizing, sampling, splits, channels, streaming, and the
torchvision loaders on small files written here (those tests skip where torchvision is missing)."""

import pickle
import struct
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from ganlab import data
from ganlab.data import ImageData, StreamingImages


@pytest.fixture(scope="module")
def digits32():
    return data.digits(32)


def _nearest(x, pool):
    """For each image of ``x``, the index of the closest image in ``pool`` and its exact
    distance.
    """
    dist = torch.cdist(x.flatten(1), pool.flatten(1), compute_mode="donot_use_mm_for_euclid_dist")
    return dist.min(1)


def test_digits_shape_range_and_labels(digits32):
    d = digits32
    assert d.images.shape == (1797, 1, 32, 32) and d.images.dtype == torch.float32
    assert (len(d), d.channels, d.image_size, d.num_classes, d.name) == (1797, 1, 32, 10, "digits")
    # 0 and 16 both occur in the raw data, so [-1, 1] is reached at both ends
    assert d.images.min() == -1.0 and d.images.max() == 1.0
    assert d.labels.dtype == torch.int64
    assert torch.equal(d.labels, torch.as_tensor(load_digits().target))
    assert torch.bincount(d.labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_digits_at_native_size_are_the_raw_values_scaled():
    raw = torch.as_tensor(load_digits().images, dtype=torch.float32)  # 0..16
    assert torch.equal(data.digits(8).images[:, 0], raw / 8 - 1)


def _bilinear_matrix(n_out: int, n_in: int) -> np.ndarray:
    """PyTorch's bilinear weights (align_corners=False) for upsampling, written out
    independently.
    """
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)  # pixel centres; clamped at the left edge
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        m[i, i0] += 1 - (src - i0)
        m[i, i1] += src - i0
    return m


def test_upsampling_is_bilinear_pixel_for_pixel():
    raw = load_digits().images[:50] / 8 - 1  # (50, 8, 8)
    m = _bilinear_matrix(20, 8)
    expected = np.einsum("ij,njk,lk->nil", m, raw, m)  # rows then columns: M x M^T
    got = data.digits(20).images[:50, 0].double().numpy()
    assert np.abs(got - expected).max() < 1e-5


@pytest.mark.parametrize("size", [4, 5, 13, 28, 64])
def test_resize_keeps_constants_and_the_range(size):
    const = torch.full((3, 2, 11, 11), 0.3)
    assert torch.allclose(data.resize(const, size), torch.full((3, 2, size, size), 0.3), atol=1e-6)
    noise = torch.rand(4, 1, 11, 11, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = data.resize(noise, size)
    assert out.shape == (4, 1, size, size) and out.min() >= -1 and out.max() <= 1


def test_sample_draws_by_index_from_the_generator(digits32):
    d = digits32
    x = d.sample(300, torch.Generator().manual_seed(3))
    index = torch.randint(len(d), (300,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, d.images[index])
    assert torch.equal(d.sample(300, torch.Generator().manual_seed(3)), x)  # same seed, same batch
    assert not torch.equal(d.sample(300, torch.Generator().manual_seed(4)), x)
    images, labels = d.sample_labeled(300, torch.Generator().manual_seed(3))
    assert torch.equal(images, x) and torch.equal(labels, d.labels[index])


def test_split_is_disjoint_and_covering():
    n = 101
    tagged = ImageData(
        torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1), torch.arange(n) % 7, "tags", 7
    )
    first, second = tagged.split(0.3, seed=5)
    assert (len(first), len(second)) == (30, 71)
    ids = torch.cat([first.images.flatten(), second.images.flatten()]).long()
    assert torch.equal(ids.sort().values, torch.arange(n))  # every image exactly once
    assert torch.equal(first.labels, first.images.flatten().long() % 7)  # labels travel with images
    assert torch.equal(tagged.split(0.3, seed=5)[0].images, first.images)
    assert not torch.equal(tagged.split(0.3, seed=6)[0].images, first.images)
    for bad in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="fraction"):
            tagged.split(bad)


def test_channels_conversion(digits32):
    rgb = data.load("digits", channels=3)
    assert rgb.images.shape == (1797, 3, 32, 32)
    for c in range(3):
        assert torch.equal(rgb.images[:, c], digits32.images[:, 0])
    assert torch.allclose(
        data.to_channels(rgb.images, 1), digits32.images, atol=1e-6
    )  # luma weights sum to 1
    # pure red, green, blue in [0, 1] are (1, 0, 0) etc.; their grey is the luma weight, mapped to
    # [-1, 1]
    primaries = torch.tensor([[1.0, -1, -1], [-1, 1, -1], [-1, -1, 1]]).view(3, 3, 1, 1)
    grey = data.to_channels(primaries, 1).flatten()
    assert torch.allclose(grey, torch.tensor([0.299, 0.587, 0.114]) * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        data.load("digits", channels=2)


def test_max_items_is_a_seeded_subset(digits32):
    sub = data.load("digits", max_items=100, seed=1)
    assert len(sub) == 100
    assert (
        _nearest(sub.images, digits32.images).values.max() == 0
    )  # every image is one of the full set's
    assert torch.equal(data.load("digits", max_items=100, seed=1).images, sub.images)
    assert not torch.equal(data.load("digits", max_items=100, seed=2).images, sub.images)


def test_errors_name_the_bad_value_and_the_choices():
    with pytest.raises(
        ValueError, match="unknown data set 'mnsit'; choose one of: digits, mnist, fashion-mnist"
    ):
        data.load("mnsit")
    with pytest.raises(ValueError, match="image_size"):
        data.load("digits", image_size=0)
    with pytest.raises(ValueError, match="max_items"):
        data.load("digits", max_items=0)
    with pytest.raises(ValueError, match="n must be"):
        data.digits(8).sample(0, torch.Generator())


def test_missing_folder_says_where_to_put_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="<class name>"):
        data.load("folder", root=tmp_path / "nowhere")


def test_missing_torchvision_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` fail
    with pytest.raises(ImportError, match="pip install torchvision"):
        data.load("mnist")


def _tagged_stream(n=50, **kw):
    """A stream whose image i is the constant i, with label i: it shows which items were drawn."""
    images = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2)
    ds = torch.utils.data.TensorDataset(images.contiguous(), torch.arange(n))
    return StreamingImages(ds, name="tags", num_classes=n, channels=1, image_size=2, **kw)


@pytest.mark.parametrize("num_workers", [0, 1])
def test_stream_rebatches_and_draws_each_epoch_without_replacement(num_workers):
    stream = _tagged_stream(batch_size=8, num_workers=num_workers, seed=0)
    # 50 items in batches of 8 with drop_last: an epoch is 48 items; draw it in uneven pieces
    pieces = [stream.sample_labeled(n) for n in (5, 13, 30)]
    assert [p[0].shape for p in pieces] == [(5, 1, 2, 2), (13, 1, 2, 2), (30, 1, 2, 2)]
    ids = torch.cat([x[:, 0, 0, 0] for x, _ in pieces]).long()
    assert len(set(ids.tolist())) == 48  # no repeats within the epoch
    assert torch.equal(torch.cat([y for _, y in pieces]), ids)  # labels stay with their images
    again = _tagged_stream(batch_size=8, num_workers=num_workers, seed=0).sample(48)
    assert torch.equal(again[:, 0, 0, 0].long(), ids)  # the seed fixes the order
    second = stream.sample(48)[:, 0, 0, 0].long()  # the next epoch: reshuffled, short batch dropped
    assert len(set(second.tolist())) == 48 and not torch.equal(second, ids)
    assert stream.sample(60).shape == (60, 1, 2, 2)  # and on, past the end of an epoch


def test_load_streams_when_over_the_memory_budget(digits32):
    stream = data.load("digits", max_bytes=1000, batch_size=64, seed=0)
    assert isinstance(stream, StreamingImages)
    assert (len(stream), stream.channels, stream.image_size, stream.num_classes) == (
        1797,
        1,
        32,
        10,
    )
    x, y = stream.sample_labeled(100, torch.Generator())
    assert x.shape == (100, 1, 32, 32) and y.shape == (100,) and x.dtype == torch.float32
    match = _nearest(x, digits32.images).indices
    assert torch.equal(digits32.images[match], x)  # real digits ...
    assert torch.equal(digits32.labels[match], y)  # ... with their labels
    assert isinstance(stream.to("cpu"), StreamingImages)
    assert isinstance(
        data.load("digits", max_bytes=1797 * 32 * 32 * 4), ImageData
    )  # exactly at the budget


# --- torchvision loaders, on files written here (never a download) --------------------------------


def _write_idx(path, array: np.ndarray):
    """An IDX file as MNIST ships it: magic (0, 0, uint8 code 8, ndim), big-endian sizes, the
    bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist(root, folder="MNIST"):
    """10 images: image k is the constant 255 * k / 9 rounded, except image 0 (0) and image 9
    (255).
    """
    levels = np.round(np.arange(10) * 255 / 9).astype(np.uint8)
    images = np.broadcast_to(levels[:, None, None], (10, 28, 28)).copy()
    images[5, :14] = 0  # one image that is not constant: top half black
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3], dtype=np.uint8)
    raw = root / folder / "raw"
    for split in ("train", "t10k"):
        _write_idx(raw / f"{split}-images-idx3-ubyte", images)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", labels)
    return images, labels


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_from_idx_files(tmp_path, name, folder):
    pytest.importorskip("torchvision")
    images, labels = _write_mnist(tmp_path, folder)
    d = data.load(name, image_size=28, root=tmp_path)
    assert isinstance(d, ImageData) and d.images.shape == (10, 1, 28, 28) and d.num_classes == 10
    assert torch.equal(d.images[:, 0], torch.as_tensor(images).float() / 127.5 - 1)
    assert d.images[0].eq(-1).all() and d.images[9].eq(1).all()  # 0 -> -1, 255 -> 1 exactly
    assert torch.equal(d.labels, torch.as_tensor(labels).long())
    up = data.load(name, image_size=32, root=tmp_path, channels=3)
    assert (
        up.images.shape == (10, 3, 32, 32)
        and up.images[9].eq(1).all()
        and up.images[0].eq(-1).all()
    )


def test_mnist_stream_matches_the_in_memory_images(tmp_path):
    pytest.importorskip("torchvision")
    _write_mnist(tmp_path)
    held = data.load("mnist", image_size=28, root=tmp_path)
    stream = data.load(
        "mnist", image_size=28, root=tmp_path, max_bytes=1, batch_size=5, num_workers=0
    )
    assert isinstance(stream, StreamingImages)
    x, y = stream.sample_labeled(10)  # one epoch: every image once, in shuffled order
    order = _nearest(x, held.images).indices
    assert sorted(order.tolist()) == list(range(10))
    assert torch.allclose(x, held.images[order], atol=1e-6) and torch.equal(y, held.labels[order])


def test_missing_mnist_says_pass_download(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(FileNotFoundError, match="download=True") as err:
        data.load("mnist", root=tmp_path)
    assert "MNIST/raw" in str(err.value)


def test_mnist_or_digits_uses_mnist_where_its_files_are(tmp_path):
    pytest.importorskip("torchvision")
    _write_mnist(tmp_path)  # present: nothing is downloaded
    d, said = data.mnist_or_digits(28, root=tmp_path)
    assert d.name == "mnist" and len(d) == 10
    assert said == "MNIST (10 training images at 28x28)"


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("Error downloading train-images-idx3-ubyte.gz"),  # torchvision, offline
        ImportError("this data set is read with torchvision, which could not be imported"),
    ],
)
def test_mnist_or_digits_falls_back_to_the_digits_and_says_why(monkeypatch, tmp_path, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(data, "_torchvision_dataset", fail)
    d, said = data.mnist_or_digits(16, root=tmp_path)
    assert d.name == "digits" and d.images.shape == (1797, 1, 16, 16)
    assert said.startswith("the bundled digits (1,797 images at 16x16): MNIST could not be")
    assert type(error).__name__ in said and "\n" not in said


def _png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path, format="PNG")


def test_image_folder_from_pngs(tmp_path):
    pytest.importorskip("torchvision")
    red = np.zeros((20, 40, 3))
    red[..., 0] = 255  # pure red, 40 wide and 20 high
    band = np.zeros((20, 40, 3))
    band[:, 8:32] = 255  # white between black margins: the centre crop keeps only white
    for i in range(3):
        _png(tmp_path / "apples" / f"{i}.png", red)
    for i in range(2):
        _png(tmp_path / "bands" / f"{i}.png", band)
    d = data.load("folder", image_size=16, root=tmp_path, num_workers=0, progress=False)
    assert d.images.shape == (5, 3, 16, 16) and d.num_classes == 2
    assert d.labels.tolist() == [0, 0, 0, 1, 1]  # sub-folders in sorted order are the classes
    assert torch.equal(d.images[0], torch.tensor([1.0, -1, -1]).view(3, 1, 1).expand(3, 16, 16))
    assert d.images[3:].eq(1).all()  # resize short side to 16 (32x16), crop the middle 16 columns
    grey = data.load(
        "folder", image_size=16, root=tmp_path, channels=1, num_workers=0, progress=False
    )
    assert torch.allclose(grey.images[:3], torch.full((3, 1, 16, 16), 2 * 0.299 - 1), atol=1e-6)


def test_empty_image_folder_says_where_to_put_images(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(FileNotFoundError, match="<class name>"):
        data.load("folder", root=tmp_path)


def test_cifar10_batches_are_read_channels_first(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    # torchvision checks each file's md5 against the real CIFAR-10's; these are stand-ins
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kw: True)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    pixel = np.array([255, 0, 128], dtype=np.uint8)  # R, G, B
    rows = np.repeat(pixel, 32 * 32)[None].repeat(
        4, 0
    )  # CIFAR rows: 1024 R, then 1024 G, then 1024 B
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rows, "labels": [7, 0, 2, 9]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    d = data.load("cifar10", image_size=32, root=tmp_path)
    assert d.images.shape == (20, 3, 32, 32) and d.num_classes == 10  # five training batches of 4
    assert torch.allclose(
        d.images[:, :, 5, 7], torch.tensor([1.0, -1.0, 128 / 127.5 - 1]).expand(20, 3), atol=1e-6
    )
    assert d.labels.tolist() == [7, 0, 2, 9] * 5


def test_celeba_is_centre_cropped_and_unlabelled(tmp_path, monkeypatch):
    torchvision = pytest.importorskip("torchvision")
    monkeypatch.setattr(torchvision.datasets.celeba, "check_integrity", lambda *args, **kw: True)
    folder = tmp_path / "celeba"
    face = np.zeros((218, 178, 3))  # CelebA's aligned faces are 178 wide, 218 high
    face[40:178] = 255  # black above and below the middle: the centre crop keeps only white
    names = [f"{i:06d}.jpg" for i in range(1, 4)]
    for name in names:
        _png(folder / "img_align_celeba" / name, face)  # PNG bytes: PIL reads by content

    def table(header, width):
        lines = [str(len(names)), header] if header else []
        return "\n".join(lines + [f"{n} " + " ".join(["1"] * width) for n in names]) + "\n"

    (folder / "list_eval_partition.txt").write_text(table(None, 1))
    (folder / "identity_CelebA.txt").write_text(table(None, 1))
    (folder / "list_bbox_celeba.txt").write_text(table("image_id x_1 y_1 width height", 4))
    (folder / "list_landmarks_align_celeba.txt").write_text(table("lefteye_x lefteye_y", 2))
    (folder / "list_attr_celeba.txt").write_text(table("Smiling Young", 2))
    d = data.load("celeba", image_size=64, root=tmp_path, num_workers=0, progress=False)
    assert d.images.shape == (3, 3, 64, 64) and d.num_classes == 1
    assert d.labels.tolist() == [0, 0, 0]
    # 178 -> 64 wide, so 218 -> 78 high, and the crop keeps rows 7..70 of 78: white (rows 40..178 of
    # 218, 14.4..64 of 78) is crop rows 7.4..57. Squashing 218 to 64 instead would put it at
    # 11.7..52.
    assert d.images[:, :, 9:55].eq(1).all()
    assert d.images[:, :, :5].lt(0).all() and d.images[:, :, 60:].lt(0).all()

"""Image data sets as tensors in [-1, 1], the range of the generator's tanh output.

The offline default is scikit-learn's bundled handwritten digits (1,797 grey 8x8 images), resized
to the model's size: it needs no network, so the tests, CI and the quick profile use it. MNIST,
Fashion-MNIST, CIFAR-10, CelebA and any image folder come through torchvision, with its own
download and checks; torchvision is imported only when one of those is asked for.

A data set that fits the memory budget is held whole on the training device as an
:class:`ImageData`, and a batch is a random index into it: no DataLoader, no copies. A larger one
is a :class:`StreamingImages`, which reads batches from disk with a DataLoader. Both offer
``sample(n, generator)``, the ``sample_real`` that ``ganlab.train`` calls.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from ._checks import choice, positive, positive_int

DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "celeba", "folder")
MAX_BYTES = (
    2 * 1024**3
)  # float32 images above this many bytes stream from disk instead of being held
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma weights for RGB -> grey, as PIL's convert("L") uses

# Where torchvision looks for each data set under `root`, for the "not found" message.
_LAYOUT = {
    "mnist": "MNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...)",
    "fashion-mnist": "FashionMNIST/raw/ (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
    "t10k-...)",
    "cifar10": "cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
    "celeba": "celeba/ (img_align_celeba/ and the list_*.txt, identity_CelebA.txt files)",
}


@dataclass(repr=False, eq=False)  # eq would compare tensors elementwise
class ImageData:
    """A whole image data set held in one tensor, sampled by index.

    Attributes:
        images: ``(N, C, H, W)`` float32 in ``[-1, 1]``.
        labels: ``(N,)`` int64 class labels in ``range(num_classes)`` (zeros when the set has none).
        name: the data set's name, e.g. ``"digits"``.
        num_classes: number of classes (1 for an unlabelled set).
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str
    num_classes: int = 1

    def __post_init__(self):
        if self.images.ndim != 4 or not self.images.is_floating_point():
            raise ValueError(
                f"images must be a float tensor (N, C, H, W), got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},), got {tuple(self.labels.shape)}"
            )
        positive_int("num_classes", self.num_classes)

    @property
    def channels(self) -> int:
        """C: 1 for grey, 3 for RGB."""
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        """The side H (= W) of an image in pixels."""
        return self.images.shape[-1]

    @property
    def device(self) -> torch.device:
        return self.images.device

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"ImageData({self.name!r}: {len(self)} images of {self.channels}x{self.image_size}x"
            f"{self.image_size}, {self.num_classes} classes, on {self.device})"
        )

    def to(self, device) -> ImageData:
        """The same data on ``device`` (the training device: batches are then drawn there)."""
        return ImageData(
            self.images.to(device), self.labels.to(device), self.name, self.num_classes
        )

    def sample_labeled(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` images ``(n, C, H, W)`` and their labels ``(n,)``, drawn uniformly with
        replacement.

        The indices come from ``generator`` on its own device, so a seeded generator gives the same
        batch every time; ``None`` uses torch's global generator.
        """
        positive_int("n", n)
        gen_device = generator.device if generator is not None else self.device
        index = torch.randint(len(self), (n,), generator=generator, device=gen_device).to(
            self.device
        )
        return self.images[index], self.labels[index]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images ``(n, C, H, W)`` drawn uniformly with replacement: a ``sample_real`` for
        ``train``.
        """
        return self.sample_labeled(n, generator)[0]

    def split(self, fraction: float = 0.5, seed: int = 0) -> tuple[ImageData, ImageData]:
        """Two disjoint random parts that together hold every image once.

        The first has ``round(fraction * N)`` images, e.g. a training half and a held-out half
        for measuring how far a metric moves between two samples of the *same* distribution.
        """
        positive("fraction", fraction)
        n_first = round(fraction * len(self))
        if not 0 < n_first < len(self):
            raise ValueError(
                f"fraction={fraction!r} leaves an empty part of {len(self)} images; "
                "choose a fraction strictly between 0 and 1"
            )
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed)).to(
            self.device
        )
        return self._take(order[:n_first]), self._take(order[n_first:])

    def _take(self, index: torch.Tensor) -> ImageData:
        return ImageData(self.images[index], self.labels[index], self.name, self.num_classes)


class StreamingImages:
    """A data set too large to hold, read batch by batch from disk by a DataLoader.

    It offers the same ``sample(n, generator)`` and ``sample_labeled`` as :class:`ImageData`, so
    it can be ``train``'s ``sample_real``, but it draws *without* replacement: the loader
    shuffles each epoch with its own generator (seeded by ``seed``), and batches are cut to any
    ``n`` from a buffer. The ``generator`` argument is therefore ignored; a run is reproducible
    through ``seed`` when ``num_workers=0`` or the workers' transforms are deterministic.

    Args:
        dataset: a map-style data set of ``(image (C, S, S) float32 in [-1, 1], int label)`` pairs.
        name, num_classes, channels, image_size: as on :class:`ImageData`.
        batch_size: images per loader batch (``drop_last``: a short final batch is skipped).
        device: where ``sample`` returns batches; on CUDA the loader pins memory for fast copies.
        num_workers: loader processes decoding images in parallel with training.
        seed: seeds the loader's shuffling.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        name: str,
        num_classes: int,
        channels: int,
        image_size: int,
        batch_size: int = 128,
        device="cpu",
        num_workers: int = 0,
        seed: int = 0,
    ):
        if len(dataset) == 0:
            raise ValueError(f"data set {name!r} is empty")
        positive_int("batch_size", batch_size)
        self.dataset, self.name, self.num_classes = dataset, name, num_classes
        self.channels, self.image_size = channels, image_size
        self.batch_size, self.num_workers, self.seed = batch_size, num_workers, seed
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        self.loader = DataLoader(
            dataset,
            batch_size=min(batch_size, len(dataset)),  # drop_last would otherwise drop everything
            shuffle=True,
            drop_last=True,
            num_workers=num_workers,
            pin_memory=cuda,  # page-locked host memory: the copy to the GPU can overlap compute
            persistent_workers=num_workers > 0,  # keep workers across epochs instead of re-forking
            generator=torch.Generator().manual_seed(seed),
        )
        self._batches = None  # the loader's iterator, started on the first sample
        self._buffer = (
            torch.empty(0, channels, image_size, image_size),
            torch.empty(0, dtype=torch.int64),
        )

    def __len__(self) -> int:
        return len(self.dataset)

    def __repr__(self) -> str:
        return (
            f"StreamingImages({self.name!r}: {len(self)} images of "
            f"{self.channels}x{self.image_size}x{self.image_size}, {self.num_classes} classes, "
            f"batches of {self.loader.batch_size} to {self.device})"
        )

    def to(self, device) -> StreamingImages:
        """The same stream, delivering batches to ``device`` (restarts the shuffle from
        ``seed``).
        """
        return StreamingImages(
            self.dataset,
            name=self.name,
            num_classes=self.num_classes,
            channels=self.channels,
            image_size=self.image_size,
            batch_size=self.batch_size,
            device=device,
            num_workers=self.num_workers,
            seed=self.seed,
        )

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self._batches is None:
            self._batches = iter(self.loader)
        try:
            return next(self._batches)
        except StopIteration:  # an epoch ended: start the next one, which reshuffles
            self._batches = iter(self.loader)
            return next(self._batches)

    def sample_labeled(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``n`` images ``(n, C, S, S)`` and labels ``(n,)`` of the stream, on
        ``device``.
        """
        positive_int("n", n)
        images, labels = self._buffer
        parts_x, parts_y, have = [images], [labels], len(images)
        while have < n:
            x, y = self._next_batch()
            parts_x.append(x)
            parts_y.append(y)
            have += len(x)
        if (
            len(parts_x) == 2 and len(parts_x[0]) == 0
        ):  # n <= one fresh batch, the usual case: no copy,
            parts_x, parts_y = parts_x[1:], parts_y[1:]  # and the batch stays in pinned memory
        images = parts_x[0] if len(parts_x) == 1 else torch.cat(parts_x)
        labels = parts_y[0] if len(parts_y) == 1 else torch.cat(parts_y)
        self._buffer = images[n:], labels[n:]
        non_blocking = (
            self.device.type == "cuda"
        )  # the source is pinned, so the copy is asynchronous
        return (
            images[:n].to(self.device, non_blocking=non_blocking),
            labels[:n].to(self.device, non_blocking=non_blocking),
        )

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The next ``n`` images ``(n, C, S, S)`` of the stream; ``generator`` is ignored (see the
        class).
        """
        return self.sample_labeled(n, generator)[0]


def to_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """Convert ``(N, C, H, W)`` images to ``channels``: grey -> RGB repeats the one channel; RGB ->
    grey takes the luma ``0.299 R + 0.587 G + 0.114 B`` (weights sum to 1, so [-1, 1] stays [-1,
    1]). ``None`` keeps the images as they are.
    """
    if channels is None or channels == images.shape[1]:
        return images
    if channels not in (1, 3) or images.shape[1] not in (1, 3):
        raise ValueError(
            f"can convert between 1 (grey) and 3 (RGB) channels, not {images.shape[1]} -> "
            f"{channels!r}"
        )
    if channels == 3:
        return images.repeat(1, 3, 1, 1)
    luma = torch.tensor(LUMA, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images * luma).sum(1, keepdim=True)


def resize(images: torch.Tensor, image_size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize square ``(N, C, h, h)`` images to ``(N, C, image_size, image_size)``.

    Bilinear, with antialiasing when shrinking; both are averages with non-negative weights, so
    values stay in [-1, 1]. Works ``chunk`` images at a time to bound the extra memory.
    """
    positive_int("image_size", image_size)
    if images.shape[-1] == image_size and images.shape[-2] == image_size:
        return images
    return torch.cat(
        [
            F.interpolate(
                part,
                size=(image_size, image_size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
            for part in images.split(chunk)
        ]
    ).clamp_(-1.0, 1.0)  # clamp: float rounding only


def digits(image_size: int = 32, device="cpu") -> ImageData:
    """scikit-learn's handwritten digits: 1,797 grey images, 10 classes, offline.

    The 8x8 images (values 0..16) are mapped to [-1, 1] and resized to ``image_size``.
    Returns an :class:`ImageData` with images ``(1797, 1, image_size, image_size)``.
    """
    positive_int("image_size", image_size)
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise ImportError(
            "ganlab.data.digits needs scikit-learn: pip install scikit-learn"
        ) from err
    bunch = load_digits()
    images = (
        torch.as_tensor(bunch.images, dtype=torch.float32)[:, None] / 8.0 - 1.0
    )  # 0..16 -> -1..1
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    return ImageData(resize(images, image_size), labels, "digits", 10).to(device)


def mnist_or_digits(
    image_size: int = 32, root: str | Path = "data", device="cpu", download: bool = True
) -> tuple[ImageData, str]:
    """MNIST where it can be had, else the bundled digits: ``(data, sentence)``.

    Chapter 8's full profile trains on MNIST's 60,000 training images (downloaded into ``root``
    if they are not there yet). Offline, or without a working torchvision, it falls back to
    :func:`digits` and the sentence says so and why, so that a page never claims a data set it
    did not use. The quick profile calls :func:`digits` directly.
    """
    try:
        data = load("mnist", image_size, root=root, download=download, device=device)
    except (OSError, RuntimeError, ImportError) as error:  # no network, no files, no torchvision
        reason = str(error).split(". ")[0].split("\n")[0][:120]
        data = digits(image_size, device)
        return data, (
            f"the bundled digits ({len(data):,} images at {image_size}x{image_size}): MNIST "
            f"could not be loaded ({type(error).__name__}: {reason})"
        )
    return data, f"MNIST ({len(data):,} training images at {image_size}x{image_size})"


def load(
    name: str,
    image_size: int = 32,
    root: str | Path = "data",
    download: bool = False,
    channels: int | None = None,
    device="cpu",
    max_items: int | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    batch_size: int = 128,
    num_workers: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> ImageData | StreamingImages:
    """Load an image data set by name, scaled to [-1, 1] and resized to ``image_size``.

    Args:
        name: one of :data:`DATASETS`. ``"folder"`` reads any ``root/<class>/<image>`` tree
            (torchvision's ImageFolder; the sub-folders are the classes).
        image_size: side of the square images. Photos are resized (short side) and centre-cropped,
            the DCGAN transform: CelebA's 178x218 faces become ``image_size`` squares.
        root: where the files are (or go, with ``download=True``); for ``"folder"``, the folder.
        download: let torchvision fetch MNIST, Fashion-MNIST, CIFAR-10 or CelebA into ``root``.
            CelebA comes from Google Drive (needs ``pip install gdown``) and is often over its
            quota; the fallback is to unzip ``img_align_celeba.zip`` (e.g. from Kaggle) into
            ``data/celeba/`` and read it as one class: ``load("folder", root="data/celeba")``.
        channels: 1 or 3 to convert (see :func:`to_channels`); ``None`` keeps the set's own
            (1 for digits and the MNISTs, 3 for the rest).
        device: where the data (or the stream's batches) live.
        max_items: keep a random subset of this many images (chosen with ``seed``).
        max_bytes: hold the set whole when its float32 images take at most this many bytes;
            above it, return a :class:`StreamingImages` instead.
        batch_size, num_workers: the stream's DataLoader (``num_workers=None``: up to 4 processes).
        seed: chooses the ``max_items`` subset and seeds the stream's shuffling.
        progress: show a progress bar while decoding image files.

    Returns:
        :class:`ImageData` when it fits ``max_bytes``, else :class:`StreamingImages`.
        Training-set splits are used (CelebA: all 202,599 images).
    """
    name = name.lower().replace("_", "-")
    choice("data set", name, DATASETS)
    positive_int("image_size", image_size)
    positive_int("max_bytes", max_bytes)
    if max_items is not None:
        positive_int("max_items", max_items)
    if channels not in (None, 1, 3):
        raise ValueError(
            f"channels must be 1 (grey), 3 (RGB) or None (as stored), got {channels!r}"
        )
    if num_workers is None:
        num_workers = min(4, os.cpu_count() or 1)

    if name == "digits":
        data = digits(image_size)
        data = ImageData(to_channels(data.images, channels), data.labels, "digits", 10)
        if max_items is not None and max_items < len(data):
            data = data._take(_subset(len(data), max_items, seed))
        if _nbytes(len(data), data.channels, image_size) <= max_bytes:
            return data.to(device)
        return StreamingImages(
            TensorDataset(data.images, data.labels),
            name="digits",
            num_classes=10,
            channels=data.channels,
            image_size=image_size,
            batch_size=batch_size,
            device=device,
            num_workers=0,
            seed=seed,
        )  # in memory already: no workers

    base, num_classes, labelled = _torchvision_dataset(name, image_size, Path(root), download)
    native_channels = 1 if name in ("mnist", "fashion-mnist") else 3
    channels = channels or native_channels
    index = torch.arange(len(base))
    if max_items is not None and max_items < len(base):
        index = _subset(len(base), max_items, seed)
    items = _Items(base, index.tolist(), channels, labelled)
    if _nbytes(len(items), channels, image_size) > max_bytes:
        return StreamingImages(
            items,
            name=name,
            num_classes=num_classes,
            channels=channels,
            image_size=image_size,
            batch_size=batch_size,
            device=device,
            num_workers=num_workers,
            seed=seed,
        )
    if name in ("celeba", "folder"):  # one file per image: decode them all, in parallel
        images, labels = _decode_all(items, batch_size, num_workers, progress, name)
    else:  # MNIST and CIFAR-10 come as one uint8 array: convert it at once
        raw = torch.as_tensor(base.data)[index]
        raw = (
            raw[:, None] if raw.ndim == 3 else raw.permute(0, 3, 1, 2)
        )  # (N, 28, 28) or (N, 32, 32, 3)
        images = to_channels(
            resize(raw.float() / 127.5 - 1.0, image_size), channels
        )  # 0..255 -> -1..1
        labels = torch.as_tensor(base.targets, dtype=torch.int64)[index]
    return ImageData(images, labels, name, num_classes).to(device)


def _nbytes(n: int, channels: int, image_size: int) -> int:
    return n * channels * image_size * image_size * 4  # float32


def _subset(n: int, k: int, seed: int) -> torch.Tensor:
    """``k`` of ``range(n)`` chosen at random with ``seed``, in increasing order."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:k].sort().values


class _Items(Dataset):
    """A torchvision data set, some of its indices, as ``(image (C, S, S) in [-1, 1], label)``
    pairs.
    """

    def __init__(self, base, indices: list[int], channels: int, labelled: bool):
        self.base, self.indices, self.channels, self.labelled = base, indices, channels, labelled

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        x, y = self.base[self.indices[i]]  # x: (C, S, S) in [0, 1] from ToTensor
        x = to_channels((x * 2.0 - 1.0)[None], self.channels)[0]
        return x, int(y) if self.labelled else 0


def _decode_all(items: _Items, batch_size: int, num_workers: int, progress: bool, name: str):
    loader = DataLoader(items, batch_size=batch_size, num_workers=num_workers)
    parts = [batch for batch in tqdm(loader, desc=f"reading {name}", disable=not progress)]
    return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])


def _import_torchvision():
    """torchvision's ``datasets`` and ``transforms``, or an ImportError that says how to get
    them.
    """
    try:
        from torchvision import datasets, transforms
    except (
        Exception
    ) as err:  # not installed (ImportError), or built for another torch (RuntimeError, OSError)
        raise ImportError(
            "this data set is read with torchvision, which could not be imported "
            f"({type(err).__name__}: {err}). Install the torchvision built for your torch "
            f"{torch.__version__}: pip install torchvision (see "
            "https://pytorch.org/get-started/previous-versions/ for matching versions), or use "
            "ganlab.data.digits(), which needs no download."
        ) from err
    return datasets, transforms


def _torchvision_dataset(name: str, image_size: int, root: Path, download: bool):
    """``(base, num_classes, labelled)``: the torchvision data set yielding ``(C, S, S)`` in [0,
    1].
    """
    where = (
        f"put images in {str(root / '<class name>' / '<image>.png')!r}, one sub-folder per class"
    )
    if (
        name == "folder" and not root.is_dir()
    ):  # before importing torchvision: the error is the same without it
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist; {where}")
    datasets, transforms = _import_torchvision()
    to_square = transforms.Compose(
        [
            transforms.Resize(image_size),  # short side to image_size, bilinear with antialiasing
            transforms.CenterCrop(image_size),
            transforms.ToTensor(),  # (C, S, S) float in [0, 1]
        ]
    )
    if name == "folder":
        try:
            base = datasets.ImageFolder(str(root), transform=to_square)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"no images found in {str(root)!r}; {where} ({err})") from err
        return base, len(base.classes), True
    build = {
        "mnist": lambda: datasets.MNIST(
            str(root), train=True, transform=to_square, download=download
        ),
        "fashion-mnist": lambda: datasets.FashionMNIST(
            str(root), train=True, transform=to_square, download=download
        ),
        "cifar10": lambda: datasets.CIFAR10(
            str(root), train=True, transform=to_square, download=download
        ),
        # split="all": a GAN has no use for CelebA's test split; target_type=[]: no labels to read
        "celeba": lambda: datasets.CelebA(
            str(root), split="all", target_type=[], transform=to_square, download=download
        ),
    }[name]
    try:
        base = build()
    except RuntimeError as err:
        if download:
            raise  # the download itself failed: torchvision's message says why
        raise FileNotFoundError(
            f"{name} not found under {str(root)!r} ({err}). Pass download=True to fetch it, or put "
            f"the files in {str(root / _LAYOUT[name])}"
        ) from err
    if name == "celeba":
        return base, 1, False  # its items are (image, None): _Items labels them all 0
    return base, 10, True

"""A whole training step replayed as one CUDA graph (``TrainConfig(cuda_graph=True)``).

On a GPU one DCGAN step is about 400 small kernels (convolutions, batch norm, Adam, ...). Launched
one by one from Python, they keep the host busier than the GPU, which waits between kernels at
small batches (``bench/profile_dcgan.py`` measures how much). A CUDA graph records the kernels of
one step once and then replays all of them with a single launch.

Only the inputs change from step to step, so a :class:`StepGraph` splits the step in two:

- drawing the inputs (noise, real batches, labels) stays ordinary code, with the run's own
  generator and in the order the step asks for them, so the random stream is the one the plain
  loop draws;
- everything else (forward passes, losses, backward passes, the Adam updates, the EMA, the traces)
  is recorded once, reading the inputs from fixed tensors that each step's fresh draws are copied
  into.

The order of draws is learnt by running the first steps normally (``warmup``), which CUDA also
needs before a capture (lazy initialisation, cuDNN's algorithm search). The step must not draw
random numbers anywhere else (gradient penalties do: ``train`` refuses them with ``cuda_graph``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Provider = Callable[[int], object]  # n -> a tensor, a tuple of tensors / None, or None


def check_device(device: torch.device) -> None:
    """CUDA graphs exist on CUDA devices only."""
    if device.type != "cuda":
        raise ValueError(
            f"cuda_graph=True needs a CUDA device, got {device}; leave it off on a CPU"
        )


def capture(fn: Callable[[], torch.Tensor]) -> tuple[Callable[[], None], torch.Tensor]:
    """Record ``fn`` as a CUDA graph; return ``(replay, output)``: ``replay()`` reruns it, refilling
    ``output``.
    """
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        output = fn()
    return graph.replay, output


def _copy_into(static, fresh) -> None:
    if isinstance(static, torch.Tensor):
        static.copy_(fresh)
    elif isinstance(static, (tuple, list)):
        for s, f in zip(static, fresh):
            _copy_into(s, f)


def _empty_like(value):
    if isinstance(value, torch.Tensor):
        return torch.empty_like(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_empty_like(v) for v in value)
    return value


class StepGraph:
    """Run ``step(**providers)`` as a CUDA graph after ``warmup`` ordinary calls.

    ``step`` receives one callable per input kind (e.g. ``noise``, ``labels``, ``real``), each
    mapping a batch size to that input, and returns a tensor (the step's traces). Calling the
    StepGraph performs one training step and returns that tensor (the same tensor object on every
    replay: copy it before the next call if you keep it).
    """

    def __init__(
        self,
        step: Callable[..., torch.Tensor],
        providers: dict[str, Provider],
        device: torch.device,
        warmup: int = 3,
    ):
        check_device(device)
        if warmup < 1:
            raise ValueError(
                f"warmup must be >= 1 (the order of draws is learnt from it), got {warmup}"
            )
        self.step, self.providers, self.device, self.warmup = step, providers, device, warmup
        self.calls, self.plan, self.inputs, self.replay, self.output = 0, None, None, None, None

    def _eager(self) -> torch.Tensor:
        """One ordinary step that records which inputs it asked for, in order."""
        plan, inputs = [], []

        def recording(kind):
            def provider(n):
                value = self.providers[kind](n)
                plan.append((kind, n))
                inputs.append(value)
                return value

            return provider

        out = self.step(**{kind: recording(kind) for kind in self.providers})
        if self.plan is not None and plan != self.plan:
            raise RuntimeError(
                f"the step drew different inputs on different calls ({self.plan} then {plan}); "
                "a CUDA graph needs the same every time"
            )
        self.plan, self.inputs = plan, inputs
        return out

    def _capture(self) -> None:
        static = [_empty_like(v) for v in self.inputs]

        def replaying():
            it = iter(static)
            return {kind: (lambda n, _it=it: next(_it)) for kind in self.providers}

        self.static = static
        self.replay, self.output = capture(lambda: self.step(**replaying()))

    def __call__(self) -> torch.Tensor:
        self.calls += 1
        if self.calls <= self.warmup:
            if self.device.type != "cuda":
                return self._eager()
            stream = torch.cuda.Stream(
                self.device
            )  # warm up off the default stream, as CUDA graphs ask
            stream.wait_stream(torch.cuda.current_stream(self.device))
            with torch.cuda.stream(stream):
                out = self._eager()
            torch.cuda.current_stream(self.device).wait_stream(stream)
            return out
        if self.replay is None:
            self._capture()  # records the kernels; runs nothing
        fresh = [
            self.providers[kind](n) for kind, n in self.plan
        ]  # the same draws, in the same order
        _copy_into(self.static, fresh)
        self.replay()
        return self.output

"""A model made ready to run at one input shape with a PyTorch backend.

Backends, the way a deployment would run them:

* ``eager`` — the module called as is;
* ``cudagraph`` — the module captured once into a CUDA graph and replayed (one launch per
  inference, as trtexec ``--useCudaGraph`` does);
* ``compile`` — ``torch.compile`` (Inductor, default mode);
* ``compile-cudagraph`` — the compiled module captured into a CUDA graph.

``Engine.run(x)`` takes an input of the example's shape and returns the output tensor; with a
graph, the output lives in the graph's static buffer until the next run (clone it to keep it).
An optional ``prep`` step (a pipeline's pre-processing) runs eagerly before the model and is
captured into the same graph; only the model is compiled, so its compiled code is the one
bench-model measured (and Inductor's cache serves it again).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

PT_BACKENDS = ("eager", "cudagraph", "compile", "compile-cudagraph")


class Engine:
    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], example: torch.Tensor,
                 backend: str, warmup: int = 3,
                 prep: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        if backend not in PT_BACKENDS:
            raise ValueError(f"unknown backend {backend!r}")
        self.backend = backend
        self.device = example.device
        if backend.endswith("cudagraph") and example.device.type != "cuda":
            raise RuntimeError(f"backend {backend} needs a CUDA device")
        if backend.startswith("compile"):
            fn = torch.compile(fn, dynamic=False)
        if prep is not None:
            model = fn

            def fn(x: torch.Tensor) -> torch.Tensor:
                return model(prep(x))

        self._fn = fn
        self._graph: torch.cuda.CUDAGraph | None = None
        self._static_in: torch.Tensor | None = None
        self._static_out: torch.Tensor | None = None
        # everything, graph buffers included, lives in inference mode: run() stays in it too
        with torch.inference_mode():
            if backend.endswith("cudagraph"):
                self._capture(example, warmup)
            else:
                for _ in range(warmup):
                    fn(example)
                if example.device.type == "cuda":
                    torch.cuda.synchronize(example.device)

    def _capture(self, example: torch.Tensor, warmup: int) -> None:
        self._static_in = example.clone()
        side = torch.cuda.Stream(device=example.device)
        side.wait_stream(torch.cuda.current_stream(example.device))
        with torch.cuda.stream(side):
            for _ in range(max(warmup, 2)):
                self._fn(self._static_in)
        torch.cuda.current_stream(example.device).wait_stream(side)
        torch.cuda.synchronize(example.device)
        self._graph = torch.cuda.CUDAGraph()
        # thread_local: CUDA calls other threads make meanwhile (a video decoder's) are theirs
        with torch.cuda.graph(self._graph, capture_error_mode="thread_local"):
            self._static_out = self._fn(self._static_in)
        torch.cuda.synchronize(example.device)

    def run(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            if self._graph is not None:
                assert self._static_in is not None and self._static_out is not None
                if x.data_ptr() != self._static_in.data_ptr():
                    self._static_in.copy_(x)
                self._graph.replay()
                return self._static_out
            return self._fn(x)

    @property
    def static_input(self) -> torch.Tensor | None:
        """The graph's input buffer: write into it and call ``run(static_input)`` to skip a copy."""
        return self._static_in


class Graphed:
    """Any tensor function of fixed-shape tensor inputs, captured once into a CUDA graph and
    replayed: one launch instead of dozens, which matters when many Python threads share one
    interpreter lock. ``run`` copies the inputs into the graph's buffers and returns clones of
    the outputs (the next replay overwrites the buffers)."""

    def __init__(self, fn: Callable[..., object], *examples: torch.Tensor, warmup: int = 2) -> None:
        dev = examples[0].device
        with torch.inference_mode():
            self._static_in = [x.clone() for x in examples]
            side = torch.cuda.Stream(device=dev)
            side.wait_stream(torch.cuda.current_stream(dev))
            with torch.cuda.stream(side):
                for _ in range(warmup):
                    fn(*self._static_in)
            torch.cuda.current_stream(dev).wait_stream(side)
            torch.cuda.synchronize(dev)
            self._graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self._graph, capture_error_mode="thread_local"):
                out = fn(*self._static_in)
            torch.cuda.synchronize(dev)
        self._tuple = isinstance(out, tuple)
        self._static_out = list(out) if isinstance(out, tuple) else [out]

    def run(self, *xs: torch.Tensor) -> object:
        with torch.inference_mode():
            for buf, x in zip(self._static_in, xs, strict=True):
                buf.copy_(x)
            self._graph.replay()
            outs = [o.clone() for o in self._static_out]  # type: ignore[union-attr]
        return tuple(outs) if self._tuple else outs[0]

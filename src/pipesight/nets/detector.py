"""A YOLO-style one-stage detector with random weights: the lab pipeline's nvinfer model.

The work per frame is what matters here, not what it detects: a CSP backbone, a PAN neck and a
decoupled anchor-free head at strides 8/16/32, in the proportions of the large YOLO detectors.
The head ends in box decoding, so the network's output is already one row per anchor point:
``x1, y1, x2, y2, score, class`` in network-input pixels. Box corners are rounded to whole pixels
inside the network so that every post-processing path (numpy on the host, torch on the GPU)
starts from the same integers and can be compared bit for bit.

A random network's activations vanish or explode with depth, and then every anchor scores alike.
So the random weights are calibrated the way a trained network's batch norm is folded into its
convolutions: one pass over a fixed, seeded calibration batch sets each convolution's scale and
per-channel bias so that its output has zero mean and unit variance. Class logits are
then close to N(0, 1) per anchor and vary with the picture, which keeps the score threshold of
a spec meaningful (see ``DetectorSpec.score_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class DetectorSpec:
    """One detector configuration. ``score_threshold`` is on the class logit and is a binary
    fraction, so float32 holds it exactly and numpy and torch compare against the same value."""

    name: str
    widths: tuple[int, int, int, int, int]  # stem, stride 4, 8, 16, 32
    depth: int  # bottlenecks in the shallowest CSP block
    input_size: int  # square network input
    num_classes: int = 80
    score_threshold: float = 2.0
    iou_num: int = 9  # IoU threshold 9/20 = 0.45, kept as a ratio for exact integer tests
    iou_den: int = 20
    pre_nms_top_k: int = 300
    max_det: int = 100
    seed: int = 0

    @property
    def iou_threshold(self) -> float:
        return self.iou_num / self.iou_den


# "yolo-x" has about the width and depth of the largest YOLOv8 detector: heavy enough to be the
# natural limit of a 720p pipeline on an H100. "yolo-tiny" is for tests on the CPU.
SPECS: dict[str, DetectorSpec] = {
    "yolo-x": DetectorSpec("yolo-x", (80, 160, 320, 640, 640), 3, 640, score_threshold=2.0),
    "yolo-m": DetectorSpec("yolo-m", (48, 96, 192, 384, 576), 2, 640, score_threshold=2.0),
    "yolo-tiny": DetectorSpec("yolo-tiny", (8, 16, 32, 64, 64), 1, 160, score_threshold=1.5,
                              pre_nms_top_k=200),
}


def spec_named(name: str) -> DetectorSpec:
    from pipesight.errors import UserError

    try:
        return SPECS[name]
    except KeyError:
        raise UserError(f"unknown model {name!r}; known: {', '.join(SPECS)}") from None


class ConvAct(nn.Sequential):
    """Convolution with bias and SiLU: a YOLO conv block with its batch norm already folded in."""

    def __init__(self, c_in: int, c_out: int, k: int = 1, s: int = 1) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, k, s, k // 2, bias=True), nn.SiLU())


class Bottleneck(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv1 = ConvAct(c, c, 3)
        self.cv2 = ConvAct(c, c, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.cv2(self.cv1(x))


class ScaleNorm(nn.Module):
    """Rescales each sample to mean absolute value 1 (accumulated in float32). Calibration fixes
    scales for the calibration batch only; other pictures excite a random network a little more
    or less at every layer, and without a reset per block that compounds to float16 overflow
    over the depth of a large detector."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.abs().mean(dim=(1, 2, 3), keepdim=True, dtype=torch.float32)
        return x * (1.0 / (scale + 1e-6)).to(x.dtype)


class CSP(nn.Module):
    """Split, a chain of bottlenecks on one half, concatenate every intermediate, fuse (C2f)."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool = True) -> None:
        super().__init__()
        self.h = c_out // 2
        self.cv1 = ConvAct(c_in, 2 * self.h)
        self.blocks = nn.ModuleList(
            Bottleneck(self.h) if shortcut else nn.Sequential(ConvAct(self.h, self.h, 3),
                                                              ConvAct(self.h, self.h, 3))
            for _ in range(n))
        self.cv2 = ConvAct((2 + n) * self.h, c_out)
        self.norm = ScaleNorm()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = list(self.cv1(x).chunk(2, 1))
        for b in self.blocks:
            parts.append(b(parts[-1]))
        return self.norm(self.cv2(torch.cat(parts, 1)))


class SPPF(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.cv1 = ConvAct(c, c // 2)
        self.pool = nn.MaxPool2d(5, 1, 2)
        self.cv2 = ConvAct(c * 2, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.pool(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Head(nn.Module):
    """Decoupled head for one stride: 4 box distances and per-class logits per grid cell."""

    def __init__(self, c_in: int, c_box: int, c_cls: int, num_classes: int) -> None:
        super().__init__()
        self.box = nn.Sequential(ConvAct(c_in, c_box, 3), ConvAct(c_box, c_box, 3),
                                 nn.Conv2d(c_box, 4, 1))
        self.cls = nn.Sequential(ConvAct(c_in, c_cls, 3), ConvAct(c_cls, c_cls, 3),
                                 nn.Conv2d(c_cls, num_classes, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.box(x), self.cls(x)


class Detector(nn.Module):
    def __init__(self, spec: DetectorSpec) -> None:
        super().__init__()
        self.spec = spec
        w0, w1, w2, w3, w4 = spec.widths
        n = spec.depth
        self.stem = ConvAct(3, w0, 3, 2)
        self.s4 = nn.Sequential(ConvAct(w0, w1, 3, 2), CSP(w1, w1, n))
        self.s8 = nn.Sequential(ConvAct(w1, w2, 3, 2), CSP(w2, w2, 2 * n))
        self.s16 = nn.Sequential(ConvAct(w2, w3, 3, 2), CSP(w3, w3, 2 * n))
        self.s32 = nn.Sequential(ConvAct(w3, w4, 3, 2), CSP(w4, w4, n), SPPF(w4))
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.td16 = CSP(w4 + w3, w3, n, shortcut=False)
        self.td8 = CSP(w3 + w2, w2, n, shortcut=False)
        self.down8 = ConvAct(w2, w2, 3, 2)
        self.bu16 = CSP(w2 + w3, w3, n, shortcut=False)
        self.down16 = ConvAct(w3, w3, 3, 2)
        self.bu32 = CSP(w3 + w4, w4, n, shortcut=False)
        c_box = max(16, w2 // 4)
        c_cls = max(w2, min(spec.num_classes, 100))
        self.heads = nn.ModuleList(Head(c, c_box, c_cls, spec.num_classes) for c in (w2, w3, w4))
        self.strides = (8, 16, 32)
        self._grids: dict[tuple[int, torch.device], tuple[torch.Tensor, torch.Tensor]] = {}

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        p8 = self.s8(self.s4(self.stem(x)))
        p16 = self.s16(p8)
        p32 = self.s32(p16)
        t16 = self.td16(torch.cat([self.up(p32), p16], 1))
        t8 = self.td8(torch.cat([self.up(t16), p8], 1))
        b16 = self.bu16(torch.cat([self.down8(t8), t16], 1))
        b32 = self.bu32(torch.cat([self.down16(b16), p32], 1))
        return [t8, b16, b32]

    def _anchors(self, size: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (size, device)
        if key not in self._grids:
            centres, strides = [], []
            for s in self.strides:
                g = size // s
                ys, xs = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
                c = torch.stack([xs, ys], -1).reshape(-1, 2).float() * s + s / 2
                centres.append(c)
                strides.append(torch.full((g * g, 1), float(s)))
            self._grids[key] = (torch.cat(centres).to(device), torch.cat(strides).to(device))
        return self._grids[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, 3, S, S] normalised to [0, 1]. Returns [B, A, 6] float32 (see module doc)."""
        size = x.shape[-1]
        boxes, logits = [], []
        for feat, head in zip(self.features(x), self.heads, strict=True):
            b, c = head(feat)
            boxes.append(b.flatten(2))
            logits.append(c.flatten(2))
        box = torch.cat(boxes, 2).transpose(1, 2).float()  # [B, A, 4]
        cls = torch.cat(logits, 2).transpose(1, 2).float()  # [B, A, C]
        centre, stride = self._anchors(size, x.device)
        half = stride.unsqueeze(0) * (0.5 + 8.0 * torch.sigmoid(box))  # l, t, r, b in pixels
        xy1 = centre.unsqueeze(0) - half[..., :2]
        xy2 = centre.unsqueeze(0) + half[..., 2:]
        corners = torch.cat([xy1, xy2], -1).clamp(0, size).round()
        score, label = cls.max(-1)
        return torch.cat([corners, score.unsqueeze(-1), label.unsqueeze(-1).float()], -1)


@torch.no_grad()
def _fold_calibration(model: Detector, size: int) -> None:
    """Output standardisation of every convolution (per-channel mean, per-layer scale), in
    execution order, from one pass over a seeded calibration batch of blocks and noise
    (batch-norm folding with calibration statistics)."""
    gen = torch.Generator().manual_seed(model.spec.seed + 1)
    # blocks of several sizes (edges, flat areas, as in video frames) plus a little noise
    x = torch.zeros(4, 3, size, size)
    for cell in (size // 4, size // 16, max(size // 64, 1)):
        n = max(size // cell, 1)
        blocks = torch.rand(4, 3, n, n, generator=gen)
        x += nn.functional.interpolate(blocks, size=(size, size), mode="nearest") / 3
    x = (0.9 * x + 0.1 * torch.rand(4, 3, size, size, generator=gen)).clamp(0, 1)

    def fold(conv: nn.Module, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor:
        assert isinstance(conv, nn.Conv2d) and conv.bias is not None
        mean = out.mean(dim=(0, 2, 3))
        centred = out - mean.view(1, -1, 1, 1)
        # one scale per layer: a per-channel one would blow up channels that the calibration
        # batch barely excites
        std = centred.std().clamp_min(1e-6)
        conv.weight.div_(std)
        conv.bias.sub_(mean).div_(std)
        return centred / std

    hooks = [m.register_forward_hook(fold) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()


def memory_format(device: str | torch.device) -> torch.memory_format:
    """Channels-last on CUDA, where the tensor cores' convolutions want it; the default on the
    CPU, where PyTorch's convolutions run several times slower channels-last."""
    return torch.channels_last if torch.device(device).type == "cuda" else torch.contiguous_format


def build(spec: DetectorSpec, device: str | torch.device = "cpu",
          dtype: torch.dtype = torch.float32) -> Detector:
    """The detector with its seeded, calibrated random weights, in eval mode, channels-last on
    the device. Calibration runs on the CPU in float32, so every device gets the same weights."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(spec.seed)
    try:
        model = Detector(spec)
    finally:
        torch.random.set_rng_state(gen_state)
    _fold_calibration(model.eval(), min(spec.input_size, 160))
    model = model.to(device=device, dtype=dtype, memory_format=memory_format(device))
    for p in model.parameters():
        p.requires_grad_(False)
    return model

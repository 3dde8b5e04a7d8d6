"""Tiling N streams into one picture (nvmultistreamtiler) and drawing boxes on it (nvdsosd).

Each operation has a host version (numpy, one stream or one box at a time, as a first draft
would) and a batched tensor version; both follow the same integer geometry, so their pictures
are identical byte for byte:

* the grid is ``cols = ceil(sqrt(N))`` by ``rows = ceil(N / cols)``; a tile is
  ``out_w // cols`` by ``out_h // rows`` pixels;
* a tile samples its frame at the nearest pixel: tile pixel (y, x) is frame pixel
  ``(y * H // th, x * W // tw)``;
* a box in network-input pixels (corners 0..S) maps to tile pixels by ``v * t // S``, clamped to
  the tile; its outline is four filled rectangles of ``thickness`` pixels, all one colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOX_COLOUR = (0, 255, 0)


@dataclass(frozen=True)
class TileLayout:
    streams: int
    out_w: int
    out_h: int

    @property
    def cols(self) -> int:
        return math.ceil(math.sqrt(self.streams))

    @property
    def rows(self) -> int:
        return math.ceil(self.streams / self.cols)

    @property
    def tile_w(self) -> int:
        return self.out_w // self.cols

    @property
    def tile_h(self) -> int:
        return self.out_h // self.rows

    def origin(self, stream: int) -> tuple[int, int]:
        """Top-left (x, y) of a stream's tile."""
        return (stream % self.cols) * self.tile_w, (stream // self.cols) * self.tile_h


def _sample_index(out_len: int, in_len: int) -> np.ndarray:
    return (np.arange(out_len, dtype=np.int64) * in_len) // out_len


def tile_numpy(frames: list[np.ndarray], layout: TileLayout) -> np.ndarray:
    """frames: N host images [H, W, 3] uint8, one per stream. Returns [out_h, out_w, 3]."""
    canvas = np.zeros((layout.out_h, layout.out_w, 3), dtype=np.uint8)
    tw, th = layout.tile_w, layout.tile_h
    for s, frame in enumerate(frames):
        ys = _sample_index(th, frame.shape[0])
        xs = _sample_index(tw, frame.shape[1])
        x0, y0 = layout.origin(s)
        canvas[y0:y0 + th, x0:x0 + tw] = frame[np.ix_(ys, xs)]
    return canvas


def box_edges(box: tuple[int, int, int, int], net_size: int, layout: TileLayout, stream: int,
              thickness: int) -> list[tuple[int, int, int, int]]:
    """The outline of one box as four half-open rectangles (x0, y0, x1, y1) in canvas pixels."""
    tw, th = layout.tile_w, layout.tile_h
    bx1 = min(box[0] * tw // net_size, tw - 1)
    by1 = min(box[1] * th // net_size, th - 1)
    bx2 = min(box[2] * tw // net_size, tw - 1)
    by2 = min(box[3] * th // net_size, th - 1)
    ox, oy = layout.origin(stream)
    x_end, y_end = bx2 + 1, by2 + 1
    rects = [
        (bx1, by1, x_end, min(by1 + thickness, y_end)),  # top
        (bx1, max(y_end - thickness, by1), x_end, y_end),  # bottom
        (bx1, by1, min(bx1 + thickness, x_end), y_end),  # left
        (max(x_end - thickness, bx1), by1, x_end, y_end),  # right
    ]
    return [(x0 + ox, y0 + oy, x1 + ox, y1 + oy) for x0, y0, x1, y1 in rects]


def draw_numpy(canvas: np.ndarray, boxes_per_stream: list[np.ndarray], net_size: int,
               layout: TileLayout, thickness: int = 2) -> None:
    """Draws every box one by one, in place (the naive nvdsosd)."""
    for s, boxes in enumerate(boxes_per_stream):
        for box in boxes:
            for x0, y0, x1, y1 in box_edges(tuple(int(v) for v in box), net_size, layout, s,
                                            thickness):
                canvas[y0:y1, x0:x1] = BOX_COLOUR


def tile_torch(frames, layout: TileLayout):  # type: ignore[no-untyped-def]
    """frames: [G * N, H, W, 3] uint8 tensor, frame j from stream j % N of group j // N.
    Returns [G, out_h, out_w, 3]: one picture per group, in one gather and one copy."""
    import torch

    n = layout.streams
    g = frames.shape[0] // n
    h, w = frames.shape[1], frames.shape[2]
    tw, th, rows, cols = layout.tile_w, layout.tile_h, layout.rows, layout.cols
    # index maps made on the device (no host copy, so this can be captured in a CUDA graph)
    ys = torch.arange(th, device=frames.device) * h // th
    xs = torch.arange(tw, device=frames.device) * w // tw
    small = frames.index_select(1, ys).index_select(2, xs)  # [G*N, th, tw, 3]
    small = small.reshape(g, n, th, tw, 3)
    if rows * cols > n:
        small = torch.nn.functional.pad(small, (0, 0, 0, 0, 0, 0, 0, rows * cols - n))
    grid = small.reshape(g, rows, cols, th, tw, 3).permute(0, 1, 3, 2, 4, 5)
    canvas = torch.zeros(g, layout.out_h, layout.out_w, 3, dtype=frames.dtype,
                         device=frames.device)
    canvas[:, : rows * th, : cols * tw] = grid.reshape(g, rows * th, cols * tw, 3)
    return canvas


def draw_torch(canvas, boxes, counts, net_size: int, layout: TileLayout,  # type: ignore[no-untyped-def]
               thickness: int = 2):
    """Draws all boxes of a batch at once. canvas: [G, out_h, out_w, 3] uint8; boxes:
    [G * N, M, 4] int64 (network pixels); counts: [G * N]. Returns the drawn canvas.

    Coverage of all outline rectangles is summed through a 2-D difference array (a +1/-1 at
    each rectangle corner, then a running sum along x and one along y), so the cost does not
    grow with the number of boxes beyond one scatter. The scatter is an atomic add (no sort)
    and both running sums run along the innermost dimension, the fast direction for a scan;
    nothing is copied from the host, so the whole function can be captured in a CUDA graph."""
    import torch

    n = layout.streams
    g = canvas.shape[0]
    gn, m, _ = boxes.shape
    dev = canvas.device
    tw, th = layout.tile_w, layout.tile_h
    stream = torch.arange(gn, device=dev) % n
    group = torch.arange(gn, device=dev) // n
    ox = ((stream % layout.cols) * tw)[:, None, None]
    oy = ((stream // layout.cols) * th)[:, None, None]
    bx1 = (boxes[..., 0] * tw // net_size).clamp_max(tw - 1)
    by1 = (boxes[..., 1] * th // net_size).clamp_max(th - 1)
    x_end = (boxes[..., 2] * tw // net_size).clamp_max(tw - 1) + 1
    y_end = (boxes[..., 3] * th // net_size).clamp_max(th - 1) + 1
    t = thickness
    x0 = torch.stack([bx1, bx1, bx1, torch.maximum(x_end - t, bx1)], -1) + ox
    y0 = torch.stack([by1, torch.maximum(y_end - t, by1), by1, by1], -1) + oy
    x1 = torch.stack([x_end, x_end, torch.minimum(bx1 + t, x_end), x_end], -1) + ox
    y1 = torch.stack([torch.minimum(by1 + t, y_end), y_end, y_end, y_end], -1) + oy
    live = (torch.arange(m, device=dev)[None, :] < counts[:, None])[..., None].expand(-1, -1, 4)
    base = (group * ((layout.out_h + 1) * (layout.out_w + 1)))[:, None, None]
    w1 = layout.out_w + 1
    sign = live.to(torch.int32)
    index = torch.cat([(base + ys * w1 + xs).reshape(-1)
                       for ys, xs in ((y0, x0), (y0, x1), (y1, x0), (y1, x1))])
    value = torch.cat([sign.reshape(-1), -sign.reshape(-1), -sign.reshape(-1), sign.reshape(-1)])
    diff = torch.zeros(g * (layout.out_h + 1) * w1, dtype=torch.int32, device=dev)
    diff.scatter_add_(0, index, value)
    along_x = diff.view(g, layout.out_h + 1, w1).cumsum(2, dtype=torch.int32)
    cover = along_x.transpose(1, 2).contiguous().cumsum(2, dtype=torch.int32).transpose(1, 2)
    mask = (cover[:, : layout.out_h, : layout.out_w] > 0).unsqueeze(-1)
    # one fill kernel per channel: `colour[c] = v` or torch.tensor(...) would copy a pageable
    # host tensor, which a CUDA graph capture refuses
    colour = torch.stack([torch.full((), v, dtype=canvas.dtype, device=dev)
                          for v in BOX_COLOUR])
    return torch.where(mask, colour, canvas)

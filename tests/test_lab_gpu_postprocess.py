"""The lab pipeline's post-processing: the naive host versions (numpy, one frame / one box at a
time) and the batched tensor versions give identical results, and both are right."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pipesight.lab.gpu.compose import (  # noqa: E402
    BOX_COLOUR,
    TileLayout,
    draw_numpy,
    draw_torch,
    tile_numpy,
    tile_torch,
)
from pipesight.lab.gpu.postprocess import NmsParams, nms_batch_torch, nms_frame_numpy  # noqa: E402

P = NmsParams(score_threshold=1.5, iou_num=9, iou_den=20, pre_nms_top_k=64, max_det=25)


def _detections(rng: np.random.Generator, b: int, a: int, size: int = 160) -> np.ndarray:
    """Random detector output with clustered boxes (so NMS has work) and tied scores."""
    centres = rng.integers(0, size, (b, a // 8 + 1, 2))
    pick = rng.integers(0, centres.shape[1], (b, a))
    c = np.take_along_axis(centres, pick[..., None], 1) + rng.integers(-6, 7, (b, a, 2))
    half = rng.integers(1, 30, (b, a, 2))
    x1y1 = np.clip(c - half, 0, size)
    x2y2 = np.clip(c + half, 0, size)
    scores = np.round(rng.normal(1.5, 1.0, (b, a)) * 4) / 4  # quarter steps: many exact ties
    labels = rng.integers(0, 80, (b, a))
    return np.concatenate([x1y1, x2y2, scores[..., None], labels[..., None]], -1).astype(
        np.float32)


def _greedy_reference(det: np.ndarray, p: NmsParams) -> list[int]:
    """NMS written from its definition with exact rational IoU, no vectorisation."""
    cand = [i for i in range(len(det)) if det[i, 4] > p.score_threshold]
    cand.sort(key=lambda i: (-det[i, 4], i))
    cand = cand[: p.pre_nms_top_k]
    kept: list[int] = []
    for i in cand:
        ok = True
        for j in kept:
            ax1, ay1, ax2, ay2 = (int(v) for v in det[i, :4])
            bx1, by1, bx2, by2 = (int(v) for v in det[j, :4])
            inter = max(0, min(ax2, bx2) - max(ax1, bx1)) * max(0, min(ay2, by2) - max(ay1, by1))
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            if union > 0 and Fraction(inter, union) > Fraction(p.iou_num, p.iou_den):
                ok = False
                break
        if ok:
            kept.append(i)
            if len(kept) == p.max_det:
                break
    return kept


@pytest.mark.parametrize("seed", range(6))
def test_numpy_nms_is_greedy_nms_by_its_definition(seed: int) -> None:
    det = _detections(np.random.default_rng(seed), 1, 300)[0]
    boxes, labels = nms_frame_numpy(det, P)
    ref = _greedy_reference(det, P)
    assert len(ref) > 3  # the data gives NMS real work
    assert boxes.tolist() == det[ref, :4].astype(np.int64).tolist()
    assert labels.tolist() == det[ref, 5].astype(np.int64).tolist()


@pytest.mark.parametrize("seed", range(6))
def test_batched_tensor_nms_equals_per_frame_numpy_nms(seed: int) -> None:
    det = _detections(np.random.default_rng(100 + seed), 5, 400)
    boxes, labels, counts, settled = nms_batch_torch(torch.from_numpy(det), P)
    assert bool(settled)
    assert boxes.shape == (5, P.max_det, 4)
    for f in range(5):
        want_boxes, want_labels = nms_frame_numpy(det[f], P)
        n = int(counts[f])
        assert n == len(want_boxes)
        assert boxes[f, :n].tolist() == want_boxes.tolist()
        assert labels[f, :n].tolist() == want_labels.tolist()
        assert not boxes[f, n:].any()  # padding rows are zero


def test_fixed_pass_nms_says_whether_it_settled() -> None:
    """The sync-free variant (for CUDA graphs) returns the greedy result when it reports
    settled, and reports unsettled when it ran too few passes."""
    det = torch.from_numpy(_detections(np.random.default_rng(5), 4, 400))
    ref = nms_batch_torch(det, P)
    many = nms_batch_torch(det, P, passes=60)
    assert bool(many[3])
    for a, b in zip(ref[:3], many[:3], strict=True):
        assert torch.equal(a, b)
    depth = next(n for n in range(1, 60) if bool(nms_batch_torch(det, P, passes=n)[3]))
    assert depth > 1  # the data needs more than one pass ...
    few = nms_batch_torch(det, P, passes=depth - 1)
    assert not bool(few[3])  # ... and one pass short of it is reported as not settled


def test_nms_caps_at_max_det_and_handles_an_empty_frame() -> None:
    det = np.zeros((2, 200, 6), np.float32)
    det[0, :, 0] = np.arange(200) * 3  # 200 disjoint 2x2 boxes, all above the threshold
    det[0, :, 2] = det[0, :, 0] + 2
    det[0, :, 3] = 2
    det[0, :, 4] = 5.0
    det[1, :, 4] = -1.0  # nothing above the threshold
    boxes, _labels, counts, _settled = nms_batch_torch(torch.from_numpy(det), P)
    assert counts.tolist() == [P.max_det, 0]
    assert boxes[0, :, 0].tolist() == [i * 3 for i in range(P.max_det)]  # score ties: anchor order
    assert len(nms_frame_numpy(det[1], P)[0]) == 0


@pytest.mark.parametrize(("streams", "out"), [(1, (64, 36)), (3, (130, 72)), (4, (128, 72)),
                                              (5, (200, 100))])
def test_tiling_numpy_and_tensor_agree(streams: int, out: tuple[int, int]) -> None:
    rng = np.random.default_rng(streams)
    layout = TileLayout(streams, *out)
    frames = rng.integers(0, 256, (2 * streams, 45, 80, 3), dtype=np.uint8)  # two groups
    got = tile_torch(torch.from_numpy(frames), layout).numpy()
    for g in range(2):
        want = tile_numpy(list(frames[g * streams:(g + 1) * streams]), layout)
        assert np.array_equal(got[g], want)
    # every tile is a subsampled frame, in grid order
    x0, y0 = layout.origin(streams - 1)
    assert np.array_equal(got[1, y0, x0], frames[2 * streams - 1, 0, 0])


def test_drawing_numpy_and_tensor_agree_on_edge_cases() -> None:
    rng = np.random.default_rng(7)
    layout = TileLayout(3, 130, 72)
    canvas = rng.integers(0, 200, (2, 72, 130, 3), dtype=np.uint8)
    m, size = 6, 160
    boxes = np.zeros((6, m, 4), np.int64)
    boxes[0, 0] = [0, 0, 160, 160]  # the whole tile
    boxes[0, 1] = [159, 159, 160, 160]  # a corner pixel
    boxes[0, 2] = [40, 40, 40, 90]  # zero width
    boxes[1, 0] = [10, 20, 30, 25]  # thinner than the outline
    boxes[2, :4] = np.tile(rng.integers(0, 80, (4, 2)), 2) + np.array([0, 0, 80, 80])
    boxes[4, :] = [5, 5, 150, 150]
    counts = np.array([3, 1, 4, 0, 6, 0])
    got = draw_torch(torch.from_numpy(canvas.copy()), torch.from_numpy(boxes),
                     torch.from_numpy(counts), size, layout).numpy()
    for g in range(2):
        want = canvas[g].copy()
        per_stream = [boxes[g * 3 + s, : counts[g * 3 + s]] for s in range(3)]
        draw_numpy(want, per_stream, size, layout)
        assert np.array_equal(got[g], want)
        assert (want == BOX_COLOUR).all(-1).sum() > 50
    x0, y0 = layout.origin(2)  # group 1, stream 2 has no box: its tile is untouched
    tile = (slice(y0, y0 + layout.tile_h), slice(x0, x0 + layout.tile_w))
    assert np.array_equal(got[1][tile], canvas[1][tile])

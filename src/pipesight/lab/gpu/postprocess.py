"""Box selection after the detector (DeepStream's nvdspostprocess): score threshold, the best
``pre_nms_top_k`` candidates, greedy non-maximum suppression, at most ``max_det`` boxes.

Two implementations of one definition:

* ``nms_frame_numpy`` — one frame at a time on the host, the greedy loop in Python (the naive
  pipeline's draft).
* ``nms_batch_torch`` — the whole batch at once with tensor operations, on the GPU in the tuned
  pipeline (on the CPU in tests).

They agree exactly because every decision is exact: scores are compared as float32 against a
float32-exact threshold, ties in score keep anchor order (stable sorts), box corners are whole
numbers and the IoU test ``inter / union > num / den`` is done as ``inter * den > union * num``
in 64-bit integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.nets.detector import DetectorSpec


@dataclass(frozen=True)
class NmsParams:
    score_threshold: float
    iou_num: int
    iou_den: int
    pre_nms_top_k: int
    max_det: int

    @classmethod
    def of(cls, spec: DetectorSpec) -> NmsParams:
        return cls(spec.score_threshold, spec.iou_num, spec.iou_den, spec.pre_nms_top_k,
                   spec.max_det)


def nms_frame_numpy(det: np.ndarray, p: NmsParams) -> tuple[np.ndarray, np.ndarray]:
    """det: [A, 6] float32 of one frame. Returns (boxes [n, 4] int64, labels [n] int64)."""
    scores = det[:, 4]
    cand = np.nonzero(scores > np.float32(p.score_threshold))[0]
    order = cand[np.argsort(-scores[cand], kind="stable")][: p.pre_nms_top_k]
    boxes = det[order, :4].astype(np.int64)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(order), dtype=bool)
    kept: list[int] = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        kept.append(i)
        if len(kept) == p.max_det:
            break
        rest = boxes[i + 1:]
        iw = np.clip(np.minimum(boxes[i, 2], rest[:, 2]) - np.maximum(boxes[i, 0], rest[:, 0]),
                     0, None)
        ih = np.clip(np.minimum(boxes[i, 3], rest[:, 3]) - np.maximum(boxes[i, 1], rest[:, 1]),
                     0, None)
        inter = iw * ih
        union = area[i] + area[i + 1:] - inter
        suppressed[i + 1:] |= inter * p.iou_den > union * p.iou_num
    sel = order[kept]
    return det[sel, :4].astype(np.int64), det[sel, 5].astype(np.int64)


def nms_batch_torch(det, p: NmsParams, passes: int | None = None):  # type: ignore[no-untyped-def]
    """det: [B, A, 6] float32 tensor. Returns (boxes [B, max_det, 4] int64, labels [B, max_det]
    int64, counts [B] int64, settled: bool tensor); rows past a frame's count are zero.

    Greedy suppression is a recursion over the score order: box j survives if no earlier
    survivor overlaps it. Its unique fixed point is found by iterating
    ``keep = valid & ~any(earlier keep & overlap)``; each pass fixes at least the next box in
    order, and in practice a few passes settle it. With ``passes=None`` the loop runs until
    nothing changes (a host sync per pass); with a number it runs exactly that many passes with
    no sync at all (so it can be captured in a CUDA graph) and ``settled`` says whether the
    last pass changed nothing, i.e. whether the result is the greedy one."""
    import torch

    b, a, _ = det.shape
    k = min(p.pre_nms_top_k, a)
    scores = det[..., 4]
    neg = torch.where(scores > p.score_threshold, -scores, torch.full_like(scores, float("inf")))
    sorted_neg, order = torch.sort(neg, dim=1, stable=True)
    order = order[:, :k]
    valid = torch.isfinite(sorted_neg[:, :k])
    cand = torch.gather(det, 1, order.unsqueeze(-1).expand(b, k, 6))
    boxes = cand[..., :4].to(torch.int64)
    x1, y1, x2, y2 = boxes.unbind(-1)
    area = (x2 - x1) * (y2 - y1)
    iw = (torch.minimum(x2[:, :, None], x2[:, None, :])
          - torch.maximum(x1[:, :, None], x1[:, None, :])).clamp_min(0)
    ih = (torch.minimum(y2[:, :, None], y2[:, None, :])
          - torch.maximum(y1[:, :, None], y1[:, None, :])).clamp_min(0)
    inter = iw * ih
    union = area[:, :, None] + area[:, None, :] - inter
    earlier = torch.ones(k, k, dtype=torch.bool, device=det.device).triu(1)
    overlap = (inter * p.iou_den > union * p.iou_num) & earlier & valid[:, :, None]
    keep = valid
    settled = torch.ones((), dtype=torch.bool, device=det.device)
    for _ in range(k if passes is None else passes):
        nxt = valid & ~(overlap & keep[:, :, None]).any(dim=1)
        if passes is None:
            if torch.equal(nxt, keep):
                break
        else:
            settled = (nxt == keep).all()
        keep = nxt
    keep = keep & (torch.cumsum(keep.to(torch.int64), dim=1) <= p.max_det)
    front = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices[:, : p.max_det]
    kept_mask = torch.gather(keep, 1, front)
    out_boxes = torch.gather(boxes, 1, front.unsqueeze(-1).expand(-1, -1, 4))
    out_boxes = out_boxes * kept_mask.unsqueeze(-1)
    labels = torch.gather(cand[..., 5], 1, front).to(torch.int64) * kept_mask
    if out_boxes.shape[1] < p.max_det:  # fewer candidates than max_det in all: pad
        pad = p.max_det - out_boxes.shape[1]
        out_boxes = torch.nn.functional.pad(out_boxes, (0, 0, 0, pad))
        labels = torch.nn.functional.pad(labels, (0, pad))
    return out_boxes, labels, keep.sum(1), settled

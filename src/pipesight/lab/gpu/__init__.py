"""The GPU lab: a DeepStream-shaped pipeline (decode, batch, infer, NMS, tile, draw) in a naive
and a tuned configuration, and the detector whose own maximum bench-model measures.
Needs PyTorch (the ``lab`` extra); everything else in pipesight works without it."""

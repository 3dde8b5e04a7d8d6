"""Neural networks: the lab's YOLO-style detector (``detector``) and how it is run on one
input shape (``engine``: eager, CUDA graphs, torch.compile). PyTorch is imported lazily; the
ceiling bench and the GPU lab both use them."""

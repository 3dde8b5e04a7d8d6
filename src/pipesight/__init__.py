"""pipesight: find what limits the throughput of a GStreamer / DeepStream pipeline."""

__version__ = "0.1.0"

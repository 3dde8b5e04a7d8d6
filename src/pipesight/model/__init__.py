"""The trace model: Topology, Flow, Timeline (frames, thread samples), latency records."""

from pipesight.model.flow import Flow
from pipesight.model.latency import LatencyRecords
from pipesight.model.samples import Samples, Series
from pipesight.model.timeline import CpuSamples, Frames, Outside, ThreadInfo
from pipesight.model.topology import Element, Link, Pad, Topology
from pipesight.model.trace import Trace

__all__ = [
    "CpuSamples",
    "Element",
    "Flow",
    "Frames",
    "LatencyRecords",
    "Link",
    "Outside",
    "Pad",
    "Samples",
    "Series",
    "ThreadInfo",
    "Topology",
    "Trace",
]

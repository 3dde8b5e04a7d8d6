"""The trace model: Topology, Flow, Timeline (frames, thread samples), latency records."""

from pipesight.trace.flow import Flow
from pipesight.trace.latency import LatencyRecords
from pipesight.trace.samples import Samples, Series
from pipesight.trace.timeline import CpuSamples, Frames, Outside, ThreadInfo
from pipesight.trace.topology import Element, Link, Pad, Topology
from pipesight.trace.trace import Trace

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

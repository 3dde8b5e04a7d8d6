"""A realistic pipesight Trace made with numpy instead of an hour of running a pipeline.

30 elements on 8 streaming threads at 30 fps: a source thread, then seven queue-fed threads
(each queue's loop pushes a buffer through two or three elements into the next queue, the last
into a sink). Processing times are log-normal around each element's mean; thread 3 holds the
costly element (~22 ms of its 33 ms per frame). Calls nest as GStreamer's do (an element's push
returns after everything downstream on its thread), a queue's loop starts a buffer once the
previous thread enqueued it and its own previous buffer is done, and Flow, Frames and Outside
are filled as the pipesight tracer reader fills them.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from pipesight.trace import Element, Flow, Frames, Outside, Pad, ThreadInfo, Topology, Trace

FPS = 30.0
MS = 1_000_000
PID = 4242
# per thread: the mean ms of each processing element on it
STAGES = [[1.0, 0.4, 2.0], [3.0, 0.5, 1.5], [4.0, 0.3, 2.5], [22.0, 0.8, 1.0],
          [6.0, 0.6, 1.2], [2.0, 5.0], [8.0, 0.7], [3.0, 0.2]]
TAIL_NS = 4_000  # an element's own time after its downstream push returns
ENQUEUE_NS = 15_000  # a queue's chain function
HANDOVER_NS = 60_000  # from an enqueue to the queue's loop pushing it


def build(seconds: float = 3600.0, seed: int = 7) -> Trace:
    rng = np.random.default_rng(seed)
    n = int(seconds * FPS)
    topo = Topology()
    topo.add_element(Element(1, "pipeline0", type="GstPipeline", factory="pipeline",
                             is_bin=True))
    next_id = [2]
    pad_ids = [0]

    def element(name: str, factory: str, **kw) -> int:
        eid = next_id[0]
        next_id[0] += 1
        topo.add_element(Element(eid, name, type="Gst" + factory.title(), factory=factory,
                                 parent=1, **kw))
        for d in ("sink", "src"):
            pad_ids[0] += 1
            topo.add_pad(Pad(pad_ids[0], d, d, element=eid,
                             caps="video/x-raw, format=(string)NV12, width=(int)1920, "
                             "height=(int)1080, framerate=(fraction)30/1"))
        return eid

    def src_pad(eid: int) -> int:
        return next(p.id for p in topo.element_pads(eid, "src"))

    def sink_pad(eid: int) -> int:
        return next(p.id for p in topo.element_pads(eid, "sink"))

    source = element("camsrc", "videotestsrc", is_source=True, is_sink=False)
    queues = [element(f"queue{k}", "queue", props={"max-size-buffers": 200,
                                                   "max-size-bytes": 10485760,
                                                   "max-size-time": 1_000_000_000})
              for k in range(1, len(STAGES))]
    chains: list[list[int]] = []
    names = iter(["convert", "scale", "overlay", "infer", "track", "blend", "encode", "parse"])
    for k, stage in enumerate(STAGES):
        base = next(names)
        chains.append([element(f"{base}{k}_{j}", "identity") for j in range(len(stage))])
    sink = element("outsink", "fakesink", is_sink=True, is_source=False)
    owners = [source, *queues]
    terminals = [*queues, sink]
    for k in range(len(STAGES)):
        seq = [owners[k], *chains[k], terminals[k]]
        for a, b in pairwise(seq):
            topo.add_link(src_pad(a), sink_pad(b))
    assert sum(1 for _ in topo.leaf_elements()) == 30

    trace = Trace(topology=topo)
    trace.run = {"command": ["synthetic-pipeline"], "pid": PID}
    trace.run_start_ts = 0
    cols: dict[str, list[np.ndarray]] = {k: [] for k in Frames.__dataclass_fields__}
    ocols: dict[str, list[np.ndarray]] = {k: [] for k in Outside.__dataclass_fields__}
    nominal = (np.arange(n) * (1e9 / FPS)).astype(np.int64) + 5 * MS
    enq_prev = nominal  # when each buffer becomes available to the thread
    for k, stage in enumerate(STAGES):
        tid = 1000 + k
        owner = owners[k]
        trace.threads.append(ThreadInfo(index=k, name=f"{topo.name(owner)}:src", os_tid=tid,
                                        key=f"{PID}:{tid}", owner=owner))
        m = len(stage)
        proc = np.stack([rng.lognormal(np.log(mu * MS), 0.25, n) for mu in stage]).astype(
            np.int64)
        chain_dur = proc.sum(0) + ENQUEUE_NS + m * TAIL_NS
        # a buffer starts when it is available and the previous one is done (Lindley)
        gap = 2_000 if k else 1 * MS  # a source produces between pushes
        ready = enq_prev + (HANDOVER_NS if k else 0)
        shift = np.concatenate([[0], np.cumsum(chain_dur + gap)[:-1]])
        begin = np.maximum.accumulate(ready - shift) + shift
        elems = [*chains[k], terminals[k]]
        callers = [owner, *chains[k]]
        starts = [begin]
        for j in range(m):
            starts.append(starts[-1] + proc[j])
        end_term = starts[m] + ENQUEUE_NS
        for d, (e, c) in enumerate(zip(elems, callers, strict=True)):
            st = starts[d]
            en = end_term + (m - d) * TAIL_NS
            wall = proc[d] + TAIL_NS if d < m else np.full(n, ENQUEUE_NS)
            cols["start"].append(st)
            cols["end"].append(en)
            cols["thread"].append(np.full(n, k, np.int32))
            cols["element"].append(np.full(n, e, np.int32))
            cols["caller"].append(np.full(n, c, np.int32))
            cols["pad"].append(np.full(n, src_pad(c), np.int32))
            cols["self_wall"].append(wall.astype(np.int64))
            cols["self_cpu"].append((wall * 0.92).astype(np.int64))
            cols["blocked"].append(np.zeros(n, np.int32))
            cols["preempted"].append(np.zeros(n, np.int32))
            cols["count"].append(np.ones(n, np.int32))
            cols["depth"].append(np.full(n, d + 1, np.int16))
            cols["mode"].append(np.zeros(n, np.int8))
            cols["result"].append(np.zeros(n, np.int32))
        top_end = end_term + m * TAIL_NS
        ocols["start"].append(top_end[:-1])
        ocols["end"].append(begin[1:])
        ocols["thread"].append(np.full(n - 1, k, np.int32))
        ocols["owner"].append(np.full(n - 1, owner, np.int32))
        idle = begin[1:] - top_end[:-1]
        ocols["cpu"].append(np.minimum(idle, MS) if k == 0 else np.minimum(idle, 20_000))
        # a queue's loop that waits for data blocks once per interval
        ocols["blocked"].append(np.ones(n - 1, np.int32))
        ocols["preempted"].append(np.zeros(n - 1, np.int32))
        enq_prev = starts[m]  # when this thread handed each buffer to the next queue
    frames = Frames(**{k: np.concatenate(v) for k, v in cols.items()})
    order = np.lexsort((frames.depth, frames.start, frames.thread))
    trace.frames = Frames(**{k: getattr(frames, k)[order] for k in Frames.__dataclass_fields__})
    trace.outside = Outside(**{k: np.concatenate(v) for k, v in ocols.items()})
    fr = trace.frames
    pad_of = {e: sink_pad(e) for e in topo.elements if not topo.elements[e].is_bin}
    peer = np.vectorize(pad_of.get, otypes=[np.int32])(fr.element)
    size = 1920 * 1080 * 3 // 2
    trace.flow = Flow(ts=fr.start.copy(), thread=fr.thread.copy(), pad=fr.pad.copy(), peer=peer,
                      src_element=fr.caller.copy(), dst_element=fr.element.copy(),
                      size=np.full(len(fr), size, np.int64), count=fr.count.copy(),
                      pts=np.zeros(len(fr), np.int64), duration=np.full(len(fr), -1, np.int64),
                      flags=np.zeros(len(fr), np.uint32), mode=fr.mode.copy())
    return trace

"""Each thread's open calls across a cut: an interval's records must start at call depth 0
for the reader (readers/pipesight_trace.py nests calls per thread from the first record), so
the entries of calls still open when an interval ends are carried into the next one, placed
before its records. Returns no entry can match (after lost records, or when attaching mid-call)
are dropped, and calls left open before a gap are closed where their thread was last seen."""

from __future__ import annotations

import numpy as np

from pipesight.tracer.layout import NONE_U64, POST_KINDS, PRE_KINDS, RECORD

Carried = dict[int, np.ndarray]  # thread id -> its open entry records, outermost first


def balance(recs: np.ndarray, carried: Carried) -> tuple[np.ndarray, Carried]:
    """(the records to read: carried entries first, then ``recs`` without unmatched returns;
    each thread's open entries after them)."""
    is_pre = np.isin(recs["kind"], PRE_KINDS)
    is_post = np.isin(recs["kind"], POST_KINDS)
    keep = np.ones(recs.shape[0], bool)
    out: Carried = {}
    tid = recs["tid"]
    order = np.argsort(tid, kind="stable")
    tids, starts = np.unique(tid[order], return_index=True)
    bounds = np.append(starts, order.shape[0])
    for k, t in enumerate(tids.tolist()):
        sel = order[bounds[k]:bounds[k + 1]]
        base_recs = carried.get(t, np.zeros(0, RECORD))
        base = base_recs.shape[0]
        delta = is_pre[sel].astype(np.int64) - is_post[sel].astype(np.int64)
        d = base + np.cumsum(delta)
        low = np.minimum.accumulate(np.minimum(d, 0))  # how far below level 0 it went
        prev_low = np.concatenate([[0], low[:-1]])
        stray = is_post[sel] & (d < prev_low)
        keep[sel[stray]] = False
        d_adj = d - low
        final = int(d_adj[-1]) if d_adj.size else base
        floor = int(min(base, d_adj.min(initial=base)))
        stack = list(base_recs[:floor])
        pre_sel = is_pre[sel]
        for level in range(floor + 1, final + 1):
            at = np.flatnonzero(pre_sel & (d_adj == level))
            stack.append(recs[sel[at[-1]]])
        out[t] = np.array(stack, RECORD) if stack else np.zeros(0, RECORD)
    for t, st in carried.items():  # threads with no record this time keep their calls
        if t not in out:
            out[t] = st
    head = [carried[t] for t in sorted(carried) if carried[t].shape[0]]
    fed = np.concatenate([*head, recs[keep]]) if head else recs[keep]
    return fed, {t: s for t, s in out.items() if s.shape[0]}


def close_all(carried: Carried, last_ts: dict[int, int]) -> np.ndarray:
    """Returns for every open call, innermost first, at its thread's last time seen: records
    were lost after them, so where each call really ended is unknown."""
    out = []
    for t, st in carried.items():
        for r in st[::-1]:
            c = np.zeros(1, RECORD)[0]
            c["kind"] = int(r["kind"]) + 1  # each *_POST kind follows its *_PRE
            c["tid"] = t
            c["ts"] = max(int(last_ts.get(t, int(r["ts"]))), int(r["ts"]))
            c["cpu"] = NONE_U64
            c["pad"] = r["pad"]
            c["pts"] = NONE_U64
            out.append(c)
    return np.array(out, RECORD) if out else np.zeros(0, RECORD)

"""Words for the evidence metrics the analyses emit, for readers of report.html: each
identifier (``element_cpu_of_wall_pct``) gets a short phrase ("the element's CPU time, of its
time in the thread"). verdict.json keeps the identifiers; tests/test_evidence_labels.py holds
this table to every metric any analysis can emit.

A metric may name what it is about in brackets (``queue_before_full_pct[queue0]``): the
label's ``{}`` takes it. Keys with a ``{name}`` part stand for a family
(``{engine}_busy_mean_pct``: nvdec, nvenc, ...), filled the same way."""

from __future__ import annotations

import re

LABELS: dict[str, str] = {
    # the streaming thread and the element on it (analyses/limits, not_the_limit)
    "thread_busy_pct": "streaming thread busy (not waiting on a queue), share of the window",
    "thread_busy_pct[]": "thread {} busy, share of the window",
    "thread_cpu_pct": "streaming thread's CPU time, share of one core",
    "element_share_of_thread_pct": "element's own time, share of its streaming thread's busy time",
    "element_share_of_window_pct": "element's own time, share of the window",
    "element_cpu_of_wall_pct": "element's CPU time, share of its own time (computing)",
    "element_blocked_of_wall_pct": "element's time blocked off the CPU, share of its own time",
    "element_cpu_share_of_window_pct": "element's CPU time, share of the window",
    "queue_before_full_pct[]": "queue in front ({}) full, share of the window",
    "queue_before_mean_level[]": "queue in front ({}): mean buffers held",
    "queue_after_empty_pct[]": "queue after it ({}) empty, share of the window",
    "feeding_thread_cpu_pct[]": "thread feeding it ({}): CPU time, share of one core",
    "feeding_thread_run_queue_wait_pct[]": "thread feeding it ({}): waiting for a core",
    "threads_outside_streaming_cores": "CPU of threads outside the streaming threads",
    "worker_threads_cores": "CPU of the worker threads the element started",
    "window_s": "analysed window, length",
    "buffers_counted": "buffers counted where the rate is measured",
    "min_window_s": "shortest window a verdict needs",
    "min_buffers": "fewest buffers a verdict needs",
    "delay_s": "warm-up left out (--delay)",
    "sink_clock_wait_pct": "sink's time waiting for the clock, share of the window",
    "sink_sync_property": "the sink's sync property",
    "caps_framerate": "frame rate the caps announce",
    # live sources (analyses/live)
    "source_fps": "rate the source delivered",
    "sink_fps": "rate into the sinks",
    "is_live_property": "the source's is-live property",
    "buffers_flagged_live_pct": "buffers marked as live, share",
    "timestamp_gaps": "gaps in the source's timestamps",
    "qos_dropped": "buffers dropped by QoS",
    "leaky_dropped": "buffers dropped by leaky queues",
    "sink_late_pct[]": "buffers late at sink {}, share",
    "sink_wait_median_ms[]": "median wait for the clock at sink {}",
    # CPUs (analyses/cpu)
    "cores_used_by_target": "cores the profiled process used",
    "cores_wanted_by_target": "cores its threads wanted (running or runnable)",
    "cpus_available": "cores the process may use",
    "busy_threads": "busy threads",
    "busy_threads_run_queue_wait": "busy threads' time waiting for a core",
    "busy_threads_run_queue_wait_pct": "busy threads' time waiting for a core, share",
    "machine_cores_busy": "cores busy on the whole machine",
    "saturated_streaming_threads": "saturated streaming threads",
    "streaming_threads_runnable": "streaming threads running or runnable",
    # a failed run, bus messages, drops (analyses/run_status, messages, drops)
    "exit_code": "exit status",
    "ended_by": "how the run ended",
    "signal": "signal that ended it",
    "stderr": "last lines of its standard error",
    "tracer_fallback": "why pipesight's tracer was not used",
    "tracers": "the tracers it ran with",
    "debug": "the message's debug text",
    "dropped": "buffers dropped",
    "processed": "buffers processed",
    "qos_messages": "QoS messages",
    "buffers_in": "buffers in",
    "buffers_out": "buffers out",
    # GStreamer's latency tracer (analyses/latency)
    "element_latency_mean_ms": "element's latency, mean",
    "element_latency_p99_ms": "element's latency, 99th percentile",
    "samples": "buffers measured",
    "pipeline_latency_mean_ms": "pipeline latency, mean",
    "share_of_pipeline_latency_pct": "share of the pipeline's latency",
    # the model's ceiling (analyses/ceiling)
    "ceiling_fps": "model alone's throughput (the ceiling)",
    "throughput_fps": "pipeline throughput",
    "share_of_ceiling_pct": "pipeline throughput, share of the ceiling",
    # hardware engines and sampled counters (analyses/engines, clocks, streams, ds_latency)
    "{engine}_busy_mean_pct": "{} engine busy, mean over the run",
    "{engine}_busy_in_stretch_pct": "{} engine busy while saturated",
    "{family}_engines": "{} engines on the device",
    "{family}_ceiling_fps": "{} engines' throughput at full load",
    "{family}_ceiling_per_engine_fps": "throughput per {} engine at full load",
    "gpu_busy_mean_pct": "GPU busy, mean over the run",
    "gpu_busy_in_stretch_pct": "GPU busy while saturated",
    "cpu_busy_mean_pct": "CPUs busy, mean over the run",
    "cpu_busy_in_stretch_pct": "CPUs busy while saturated",
    "saturated_share_of_window_pct": "time saturated, share of the run",
    "saturated_samples": "samples while saturated",
    "saturated_stretch_s": "longest saturated stretch",
    "pipeline_fps": "pipeline throughput",
    "share_of_model_alone_pct": "share of the model alone's throughput",
    "profiled_processes_share_pct": "share of it from the profiled processes",
    "sm_clock_mean_mhz": "GPU SM clock, mean",
    "sm_clock_busy_mean_mhz": "GPU SM clock while busy, mean",
    "sm_clock_max_mhz": "GPU SM clock, maximum",
    "gpu_clock_min_busy_mhz": "GPU clock while busy, lowest",
    "gpu_clock_max_busy_mhz": "GPU clock while busy, highest",
    "busy_samples_held_pct": "busy samples with the clock held back",
    "busy_samples_{reason}_pct": "busy samples held back by {}",
    "power_mean_w": "power draw, mean",
    "power_limit_w": "power limit",
    "power_default_limit_w": "default power limit",
    "cpus": "cores",
    "cpus_online": "cores online",
    "lines_with_cores_offline_pct": "samples with cores offline, share",
    "deepstream_fps_total": "DeepStream's reported FPS, all streams",
    "deepstream_fps_cv": "spread of DeepStream's FPS (coefficient of variation)",
    "fps_median_of_streams": "median FPS of the streams",
    "fps_mean[]": "mean FPS of stream {}",
    "streams": "streams",
    "streams_stalled": "streams that stalled",
    "stalled_until_end": "stalled until the end",
    "zero_fps_prints": "prints at 0 FPS",
    "prints": "prints",
    "component_latency_mean_ms": "component's latency, mean",
    "component_latency_p90_ms": "component's latency, 90th percentile",
    "frame_latency_mean_ms": "frame latency, mean",
    "component_span_mean_ms": "time from the first component's input to the last one's output",
    "share_of_frame_latency_pct": "share of the frame latency",
    "wait_before_mean_ms[]": "mean wait before {}",
    "batches": "batches",
    "frame_latency_prints": "frame latency prints",
    "frame_latency_prints_invalid": "frame latency prints out of range",
    "invalid_value_ms": "an out-of-range value",
    # the GPU timeline (analyses/gpu, gpu_work)
    "gpu_busy_pct": "GPU busy, share of the window",
    "gpu_span_ms": "GPU timeline span",
    "idle_gaps": "idle gaps",
    "idle_in_gaps_pct": "GPU idle time in those gaps, share",
    "median_gap_ms": "median idle gap",
    "gap_spacing_ms": "spacing of the gaps",
    "gap_spacing_cv": "regularity of the gaps (coefficient of variation)",
    "busy_during_gaps_pct": "thread busy while the GPU was idle, share of the gaps",
    "busy_during_gaps_pct[]": "busy during the GPU's gaps: {}",
    "launcher_waits_for_gpu_pct[]": "launching thread {} waiting for the GPU, share",
    "clock_alignment": "how the two clocks were tied",
    "clock_alignment_error_us": "error of the clock alignment",
    "gpu_cycles_per_s": "batches through the GPU per second",
    "gpu_cycles_per_s_if_gaps_closed": "batches per second with the gaps closed",
    "speedup_if_gaps_closed": "speed-up with the gaps closed",
    "thread_ms_per_batch": "thread's time per batch",
    "gpu_ms_per_batch": "GPU time per batch",
    "thread_over_gpu_time": "thread's time over the GPU's",
    "gpu_busy_ms_all_devices": "GPU busy time, all devices",
    "gpu_ms[]": "GPU time in {}",
    "copies": "copies",
    "bytes": "bytes copied",
    "copy_gpu_ms": "GPU time in copies",
    "calling_thread_blocked_ms": "calling thread blocked",
    "kernels": "kernels",
    "median_kernel_us": "median kernel time",
    "median_launch_us": "median launch time",
    "stream_busy_pct": "CUDA stream busy, share",
}

_SUBJECT = re.compile(r"^(?P<base>[^\[]+)\[(?P<subject>.*)\]$")
_FAMILY = re.compile(r"\{(\w+)\}")


def _family_regex(key: str) -> re.Pattern[str]:
    """``{engine}_busy_mean_pct`` as a pattern with one group for the family's member."""
    parts = _FAMILY.split(key)  # literal, name, literal, ...
    return re.compile("^" + "".join(re.escape(p) if i % 2 == 0 else "([a-z0-9_]+?)"
                                    for i, p in enumerate(parts)) + "$")


_FAMILIES = [(_family_regex(k), w) for k, w in LABELS.items() if _FAMILY.search(k)]


def _member(word: str) -> str:
    """An engine (nvdec0, nvjpg) in capitals as NVIDIA writes them, other words spaced."""
    return word.upper() if re.fullmatch(r"[a-z]{2,5}\d*", word) else word.replace("_", " ")


def label(metric: str) -> str | None:
    """Words for an evidence metric, or None when the table has none."""
    if metric in LABELS and "[" not in metric:
        return LABELS[metric]
    m = _SUBJECT.match(metric)
    if m:
        words = LABELS.get(m.group("base") + "[]")
        return words.format(m.group("subject")) if words is not None else None
    for rx, words in _FAMILIES:
        fm = rx.match(metric)
        if fm:
            return words.format(_member(fm.group(1)))
    return None

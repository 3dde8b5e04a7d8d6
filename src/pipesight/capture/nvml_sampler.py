"""Samples NVIDIA GPUs through NVML (nvidia-ml-py, the optional extra ``gpu``) into
RUN/samples/nvml.jsonl: utilisation of the GPU, memory, encoder, decoder, JPEG and optical-flow
engines, SM/memory/video clocks, power and its limit, memory used, the clock-event (throttle)
reasons, and per-process utilisation where the driver offers it.

NVML gives one decoder figure for all of a GPU's NVDEC engines (likewise NVENC, NVJPG, OFA); the
header records how many engines there are where NVML tells it (the GPU-instance profile of the
whole GPU), so that a reading of, say, 14% can be judged against 1 of 7 engines.

Lines: {"t": "header", "gpus": [...]}, then per GPU and sample {"t": "s", "ts": monotonic ns,
"gpu": index, "gpu_util": %, ...} (a field the GPU does not support is left out), per process
{"t": "p", ...}, and {"t": "end"}.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pipesight.capture.samplers import Sampler


def _load_nvml() -> tuple[Any, str | None]:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return None, "nvidia-ml-py is not installed (pip install 'pipesight[gpu]')"
    try:
        pynvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML did not start ({_err(e)}): no NVIDIA driver here"
    return pynvml, None


def _err(e: Exception) -> str:
    return str(e) or type(e).__name__


def _text(x: Any) -> str | None:
    if x is None:
        return None
    return x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x)


class NvmlSampler(Sampler):
    name = "nvml"

    def __init__(self, out: Path, interval_s: float = 0.1, root_pid: int | None = None) -> None:
        super().__init__(out, interval_s)
        self.root_pid = root_pid
        self.nvml: Any = None
        self.handles: list[Any] = []
        self.gpus: list[dict[str, Any]] = []
        self._unsupported: list[set[str]] = []
        self._proc_seen: list[int] = []
        self._proc_fn: list[str | None] = []

    def open(self) -> bool:
        self.nvml, why = _load_nvml()
        if self.nvml is None:
            self.note = why
            return False
        nv = self.nvml
        try:
            n = nv.nvmlDeviceGetCount()
        except Exception as e:
            self.note = f"NVML could not count GPUs: {_err(e)}"
            return False
        if n == 0:
            self.note = "NVML sees no GPU"
            return False
        for i in range(n):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            self.handles.append(h)
            self.gpus.append(self._describe(i, h))
            self._unsupported.append(set())
            self._proc_seen.append(0)
            self._proc_fn.append("nvmlDeviceGetProcessesUtilizationInfo")
        return True

    def _try(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception:
            return None

    def _describe(self, i: int, h: Any) -> dict[str, Any]:
        nv = self.nvml
        d: dict[str, Any] = {"index": i, "name": _text(self._try(lambda: nv.nvmlDeviceGetName(h)))}
        d["uuid"] = _text(self._try(lambda: nv.nvmlDeviceGetUUID(h)))
        d["max_sm_mhz"] = self._try(lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_SM))
        d["max_mem_mhz"] = self._try(lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_MEM))
        d["max_video_mhz"] = self._try(
            lambda: nv.nvmlDeviceGetMaxClockInfo(h, nv.NVML_CLOCK_VIDEO))
        d["power_limit_mw"] = self._try(lambda: nv.nvmlDeviceGetEnforcedPowerLimit(h))
        d["power_default_limit_mw"] = self._try(
            lambda: nv.nvmlDeviceGetPowerManagementDefaultLimit(h))
        mem = self._try(lambda: nv.nvmlDeviceGetMemoryInfo(h))
        d["memory_total_mb"] = None if mem is None else round(mem.total / 2**20)
        d.update(self._engine_counts(h))
        return d

    def _engine_counts(self, h: Any) -> dict[str, Any]:
        """Engine counts of the whole GPU: the GPU-instance profile with the most slices lists
        them (MIG-capable GPUs). Where NVML does not tell, they stay None."""
        nv = self.nvml
        best = None
        for p in range(getattr(nv, "NVML_GPU_INSTANCE_PROFILE_COUNT", 0)):
            info = self._try(lambda p=p: nv.nvmlDeviceGetGpuInstanceProfileInfo(h, p))
            if info is not None and (best is None or info.sliceCount > best.sliceCount):
                best = info
        if best is None:
            return {"nvdec_count": None, "nvenc_count": None, "nvjpg_count": None,
                    "ofa_count": None, "engine_counts_from": None}
        return {"nvdec_count": best.decoderCount, "nvenc_count": best.encoderCount,
                "nvjpg_count": best.jpegCount, "ofa_count": best.ofaCount,
                "engine_counts_from": f"NVML GPU-instance profile ({best.sliceCount} slices)"}

    def header(self) -> dict[str, Any]:
        nv = self.nvml
        return {"driver": _text(self._try(nv.nvmlSystemGetDriverVersion)),
                "nvml_version": _text(self._try(nv.nvmlSystemGetNVMLVersion)),
                "root_pid": self.root_pid, "gpus": self.gpus}

    def _read(self, i: int, key: str, fn: Callable[[], Any]) -> Any:
        if key in self._unsupported[i]:
            return None
        try:
            return fn()
        except Exception:
            # unsupported on this GPU (or not in this driver): do not ask again
            self._unsupported[i].add(key)
            return None

    def sample(self, f: IO[str]) -> None:
        nv = self.nvml
        lines = []
        for i, h in enumerate(self.handles):
            now = time.monotonic_ns()
            d: dict[str, Any] = {"t": "s", "ts": now, "gpu": i}
            u = self._read(i, "util", lambda h=h: nv.nvmlDeviceGetUtilizationRates(h))
            if u is not None:
                d["gpu_util"], d["mem_util"] = u.gpu, u.memory
            for key, fn in (("enc_util", "nvmlDeviceGetEncoderUtilization"),
                            ("dec_util", "nvmlDeviceGetDecoderUtilization"),
                            ("jpg_util", "nvmlDeviceGetJpgUtilization"),
                            ("ofa_util", "nvmlDeviceGetOfaUtilization")):
                r = self._read(i, key, lambda h=h, fn=fn: getattr(nv, fn)(h))
                if r is not None:
                    d[key] = r[0]
            for key, clk in (("sm_mhz", "NVML_CLOCK_SM"), ("mem_mhz", "NVML_CLOCK_MEM"),
                             ("video_mhz", "NVML_CLOCK_VIDEO")):
                r = self._read(i, key, lambda h=h, clk=clk: nv.nvmlDeviceGetClockInfo(
                    h, getattr(nv, clk)))
                if r is not None:
                    d[key] = r
            p = self._read(i, "power_mw", lambda h=h: nv.nvmlDeviceGetPowerUsage(h))
            if p is not None:
                d["power_mw"] = p
            lim = self._read(i, "power_limit_mw", lambda h=h: nv.nvmlDeviceGetEnforcedPowerLimit(h))
            if lim is not None:
                d["power_limit_mw"] = lim
            m = self._read(i, "mem_used_mb", lambda h=h: nv.nvmlDeviceGetMemoryInfo(h))
            if m is not None:
                d["mem_used_mb"] = round(m.used / 2**20, 1)
            tc = self._read(i, "temp_c", lambda h=h: nv.nvmlDeviceGetTemperature(
                h, nv.NVML_TEMPERATURE_GPU))
            if tc is not None:
                d["temp_c"] = tc
            r = self._read(i, "clock_reasons", lambda h=h: self._reasons(h))
            if r is not None:
                d["clock_reasons"] = r
            lines.append(json.dumps(d, separators=(",", ":")))
            lines.extend(self._processes(i, h))
        f.write("\n".join(lines) + "\n")
        f.flush()

    def _reasons(self, h: Any) -> int:
        nv = self.nvml
        fn = getattr(nv, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if fn is not None:
            try:
                return int(fn(h))
            except Exception:
                pass
        return int(nv.nvmlDeviceGetCurrentClocksThrottleReasons(h))

    def _processes(self, i: int, h: Any) -> list[str]:
        """Per-process samples NVML took since the last call (its own ~1/6 s buckets)."""
        nv = self.nvml
        fn = self._proc_fn[i]
        if fn is None:
            return []
        try:
            rows = getattr(nv, fn)(h, self._proc_seen[i])
        except Exception as e:
            if fn == "nvmlDeviceGetProcessesUtilizationInfo" and not _no_data(e):
                self._proc_fn[i] = "nvmlDeviceGetProcessUtilization"  # older driver
            elif not _no_data(e):
                self._proc_fn[i] = None
            return []
        out = []
        for r in rows:
            ts = int(r.timeStamp)
            self._proc_seen[i] = max(self._proc_seen[i], ts)
            d = {"t": "p", "ts": time.monotonic_ns(), "gpu": i, "pid": int(r.pid),
                 "sample_us": ts, "sm": r.smUtil, "mem": r.memUtil, "enc": r.encUtil,
                 "dec": r.decUtil}
            for k, attr in (("jpg", "jpgUtil"), ("ofa", "ofaUtil")):
                if hasattr(r, attr):
                    d[k] = getattr(r, attr)
            out.append(json.dumps(d, separators=(",", ":")))
        return out

    def close(self, f: IO[str]) -> None:
        unsupported = {str(i): sorted(u) for i, u in enumerate(self._unsupported) if u}
        if unsupported:
            f.write(json.dumps({"t": "unsupported", "fields": unsupported}) + "\n")
        with contextlib.suppress(Exception):
            self.nvml.nvmlShutdown()


def _no_data(e: Exception) -> bool:
    """NVML answers 'not found' when no process used the GPU since the last call."""
    return "Not Found" in str(e) or type(e).__name__.endswith("NotFound")

"""What the GPU machine offers the lab pipeline: versions, PyNvVideoCodec's decoder on one clip
(frames, surface layout, single-thread decode rate). Prints facts; never fails the run."""

from __future__ import annotations

import time

import torch

print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
try:
    import PyNvVideoCodec as nvc

    from pipesight.lab.gpu.sources import clip_for, primary_context

    print("PyNvVideoCodec", getattr(nvc, "__version__", "?"))
    stream = torch.cuda.Stream()
    dmx = nvc.CreateDemuxer(filename=str(clip_for(0)))
    print("demuxer", dmx.Width(), dmx.Height(), dmx.GetNvCodecId(), dmx.FrameRate())
    dec = nvc.CreateDecoder(gpuid=0, codec=dmx.GetNvCodecId(), cudacontext=primary_context(0),
                            cudastream=stream.cuda_stream, usedevicememory=True)
    n, first = 0, None
    t0 = time.perf_counter()
    for _ in range(5):
        for packet in dmx:
            for f in dec.Decode(packet):
                if first is None:
                    t = torch.from_dlpack(f)
                    first = (t.shape, t.dtype, t.stride(), str(f)[:120])
                n += 1
        dmx = nvc.CreateDemuxer(filename=str(clip_for(0)))
    dt = time.perf_counter() - t0
    print("first frame", first)
    print(f"decoded {n} frames in 5 passes over a 60-frame clip: {n / dt:.0f} frames/s "
          "(one thread)")
except Exception as e:  # the report says what failed; the pipeline falls back
    print("PyNvVideoCodec probe failed:", type(e).__name__, str(e)[:400])

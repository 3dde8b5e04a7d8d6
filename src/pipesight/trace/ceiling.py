"""The model's own maximum: what the pipeline's throughput is held against."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Ceiling:
    fps: float  # frames per second of the model alone
    source: str  # "bench-model FILE (backend)", "trtexec log FILE", "given as a number"
    batch: int | None = None
    precision: str | None = None  # fp32, fp16, bf16, int8
    input_size: tuple[int, int] | None = None  # width, height
    model: str | None = None
    # what the measurement leaves out that the pipeline must do (copies, decode, ...)
    leaves_out: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size) if self.input_size else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ceiling:
        size = d.get("input_size")
        return cls(fps=float(d["fps"]), source=str(d.get("source") or "?"),
                   batch=d.get("batch"), precision=d.get("precision"),
                   input_size=tuple(size) if size else None,  # type: ignore[arg-type]
                   model=d.get("model"), leaves_out=list(d.get("leaves_out") or []))

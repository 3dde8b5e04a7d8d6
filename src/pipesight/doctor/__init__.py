"""pipesight doctor: why a pipeline fails to start, stalls or hangs, and which known
performance traps its graph or deepstream-app configuration holds.

inputs (what was read) -> construction / runtime / states / hangs (explanations) and lint
(traps) -> diagnose (a Verdict with findings) -> render.doctor_view / render.json_out."""

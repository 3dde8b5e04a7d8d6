"""GPU-side measurements: the model's own maximum (bench-model), trtexec logs, timing summaries.
PyTorch is optional: reading a trtexec log needs only the standard library and numpy."""

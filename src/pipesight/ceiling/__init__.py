"""The model's own maximum (`pipesight bench-model`): a detector timed alone, inputs already
on the GPU, the way trtexec times an engine, so a pipeline can be held against it."""

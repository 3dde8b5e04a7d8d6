"""What the commands do, end to end: an input to its answer (``answer``: read, measure,
judge), a profiled run (``profile``: capture, answer, outputs, repeats), the sides of a
comparison (``sides``), where a verdict goes (``outputs``) and the CI gates (``gates``)."""

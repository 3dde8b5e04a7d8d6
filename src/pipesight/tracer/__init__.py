"""pipesight's GStreamer tracer: its C source (built against the system's GStreamer on first
use, ``build``) and the layout of the files it writes (``layout``), shared by what writes the
run directory and what reads it."""

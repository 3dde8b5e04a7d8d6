"""Small GStreamer applications (PyGObject) for lab scenarios that gst-launch-1.0 cannot
express: an application feeding an appsrc, a Python pad probe. Each takes the pipeline
description on its command line, so the lab can rename every element, and behaves like
gst-launch-1.0 -e: EOS on SIGINT, "Execution ended after ..." at the end."""

"""`pipesight watch`: a pipeline traced for as long as it runs, judged every interval.

The tracer writes a ring (`ring`) and rotating message files (`tail`); `stream` turns what is
read into interval-sized record sets with each thread's open calls carried over; `window`
writes one interval as a run directory that `analysis` judges like any other; `series` turns
each verdict into metrics for the exporters (pipesight.exporters); `session` runs it all.
"""

"""`pipesight compare`: what a change did, from two runs.

side      one side: its verdict in dict form, the verdicts of its repeats, its element graph
          (workflows/sides loads it from a run directory, repeated run, verdict.json or file)
graph     the elements and links of one side, as names (links only where a trace recorded them)
matching  pairs A's elements with B's: by name, then by position in the graph, then by type
values    the numbers compared, read from a verdict dict, and their spread over repeats
noise     how large a change must be to count: measured over repeats, else a stated margin
comparison what a comparison holds: Change, Row, BottleneckMove, SideInfo, Comparison
diff      the comparison itself: one Change per number, rows per element/thread/queue/GPU
summary   the one sentence that says what moved, and the overall status
gates     (pipesight.workflows.gates) the CI exit conditions

Everything here is a pure function of the two sides; render/compare_* draw the result.
"""

from __future__ import annotations

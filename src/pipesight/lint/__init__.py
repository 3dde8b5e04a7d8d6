"""Lint: known performance traps in a pipeline graph (lint.graph) and in a deepstream-app
configuration (lint.config). Rules key on factory names and configuration keys; each finding
carries a fix and the document the advice comes from."""

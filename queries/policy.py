"""What each role may take out of GenLens, where queries/ needs to know it (the export CLI).

Defined here, below access/, so that queries never import access; access.roles re-exports it.
"""

from __future__ import annotations

# Reports a viewer may export: aggregates only.
VIEWER_REPORTS = ("summary", "by_model", "daily", "retries", "errors", "metrics")

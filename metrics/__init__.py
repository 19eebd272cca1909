"""GenLens' metrics layer: every metric declared once (registry), the sources that can answer it,
and one planner that picks the cheapest able source. Queries ask here; they never name a source."""

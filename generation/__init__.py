"""Test generations: the admin page's and the canary CLI's way to write attempts into `generations`.

The runner (`generation.runner`) records every attempt the way the seed system's
`POST /stories/generate` flow does: INSERT as `pending` and commit, call the provider, then UPDATE
to success, failed or timeout. Providers (`generation.providers`): `simulated` (offline),
`openai` (any OpenAI-compatible chat-completions endpoint) and `supabase-function` (a deployed
Edge Function that writes its own rows). Access to the page: `generation.auth`.

Everything here writes; the rest of GenLens only reads. See docs/admin.md.
"""

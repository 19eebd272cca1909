"""Test generations: the admin page's and the canary CLI's way to write attempts into `generations`.

The runner (`generation.runner`) records every attempt the way the seed system's
`POST /stories/generate` flow does: INSERT as `pending` and commit, call the provider, then UPDATE
to success, failed or timeout. Providers (`generation.providers`): `simulated` (offline),
`openai` (any OpenAI-compatible chat-completions endpoint) and `supabase-function` (a deployed
Edge Function that writes its own rows). Access to the page: `generation.auth` (password hashes
and the lockout come from `access.passwords`; generation may import access, never the reverse).

Pages import from here (the facade), not from the modules. Everything here writes; the rest of
GenLens only reads. See docs/admin.md.
"""

from generation.auth import LOCKOUT, Access, Admin, AuthError, LockedOut, access_mode, check_password, supabase_sign_in
from generation.providers import PROVIDERS, GenerationRequest, available, make_provider, model_choices
from generation.replay import ReplaySource, parse_generation_id, replay_params
from generation.runner import MAX_CONCURRENCY, MAX_COUNT, RunHandle, RunOptions, start_run
from generation.settings import admin_user_id
from generation.store import admin_database, attempts_for, demo_only
from generation.templates import HEROES, INTERESTS, MORALS, RELATIONS, StoryParams

__all__ = [
    "HEROES",
    "INTERESTS",
    "LOCKOUT",
    "MAX_CONCURRENCY",
    "MAX_COUNT",
    "MORALS",
    "PROVIDERS",
    "RELATIONS",
    "Access",
    "Admin",
    "AuthError",
    "GenerationRequest",
    "LockedOut",
    "ReplaySource",
    "RunHandle",
    "RunOptions",
    "StoryParams",
    "access_mode",
    "admin_database",
    "admin_user_id",
    "attempts_for",
    "available",
    "check_password",
    "demo_only",
    "make_provider",
    "model_choices",
    "parse_generation_id",
    "replay_params",
    "start_run",
    "supabase_sign_in",
]

"""Local HTTP stand-ins for the services the admin page talks to (OpenAI-compatible, Supabase)."""

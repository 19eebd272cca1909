"""A local stand-in for the two Supabase endpoints the admin side uses, on 127.0.0.1.

- `POST /auth/v1/token?grant_type=password`: GoTrue's password sign-in. Users are given as
  {email: (password, app_metadata)}; a wrong password gets GoTrue's 400 invalid_credentials.
- `POST /functions/v1/<name>`: an Edge Function. Like a real generation function it writes its
  own attempt rows (into `schema`.generations through `engine`) and answers with the
  generation_id. Functions:
  - `generate-story`: attempt 1 failed, attempt 2 success, both tagged with the body's test_run_id;
  - `slow-story`: answers at once with a pending attempt and completes it `slow_s` later;
  - `broken`: HTTP 500 with an error body; `no-id`: 200 without a generation_id.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text


def session_for(email: str, app_metadata: dict) -> dict:
    return {
        "access_token": f"jwt-for-{email}",
        "token_type": "bearer",
        "expires_in": 3600,
        "expires_at": int(time.time()) + 3600,
        "refresh_token": "refresh-1",
        "user": {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, email)),
            "aud": "authenticated",
            "role": "authenticated",
            "email": email,
            "app_metadata": app_metadata,
            "user_metadata": {},
            "created_at": "2026-01-01T00:00:00Z",
        },
    }


class SupabaseServer:
    def __init__(
        self,
        anon_key: str = "anon-key",
        users: dict[str, tuple[str, dict]] | None = None,
        engine=None,
        schema: str = "public",
        slow_s: float = 0.5,
    ) -> None:
        self.anon_key, self.users, self.engine, self.schema, self.slow_s = anon_key, users or {}, engine, schema, slow_s
        self.invocations: list[dict] = []
        self.sign_ins: list[str] = []
        self._threads: list[threading.Thread] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _json(self, code: int, obj) -> None:
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw or b"{}")
                if self.headers.get("apikey") not in (server.anon_key, None) and url.path.startswith("/auth"):
                    return self._json(401, {"message": "Invalid API key"})
                if url.path == "/auth/v1/token" and parse_qs(url.query).get("grant_type") == ["password"]:
                    return self._sign_in(body)
                if url.path.startswith("/functions/v1/"):
                    return self._function(url.path.rsplit("/", 1)[-1], body)
                return self._json(404, {"message": "not found"})

            def _sign_in(self, body: dict) -> None:
                email = body.get("email", "")
                server.sign_ins.append(email)
                user = server.users.get(email)
                if not user or user[0] != body.get("password"):
                    return self._json(
                        400, {"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}
                    )
                return self._json(200, session_for(email, user[1]))

            def _function(self, name: str, body: dict) -> None:
                server.invocations.append(
                    {"name": name, "body": body, "authorization": self.headers.get("Authorization")}
                )
                if name == "broken":
                    return self._json(500, {"error": "model pipeline crashed"})
                if name == "no-id":
                    return self._json(200, {"ok": True})
                if name not in ("generate-story", "slow-story"):
                    return self._json(404, {"error": f"Function {name} not found"})
                gid = str(uuid.uuid4())
                if name == "generate-story":
                    server.write(gid, 1, body, "failed", "Upstream error 502 from provider 'together'")
                    server.write(gid, 2, body, "success", None)
                else:
                    server.write(gid, 1, body, "pending", None)
                    t = threading.Thread(target=server._finish_later, args=(gid, body), daemon=True)
                    server._threads.append(t)
                    t.start()
                return self._json(200, {"generation_id": gid, "status": "accepted"})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def write(self, gid: str, n: int, body: dict, status: str, error: str | None) -> None:
        meta = {"test_run_id": body.get("test_run_id"), "source": body.get("source"), "cost_usd": 0.002 * n}
        done = None if status == "pending" else "clock_timestamp()"
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f'INSERT INTO "{self.schema}".generations (generation_id, attempt_number, status, model_used, prompt,'
                    " user_id, story_type, moral, error_message, generation_metadata, created_at, completed_at)"
                    " VALUES (CAST(:g AS uuid), :n, :s, :m, :p, CAST(:u AS uuid), :t, :moral, :e, CAST(:meta AS jsonb),"
                    f" clock_timestamp(), {done or 'NULL'})"
                ),
                {
                    "g": gid,
                    "n": n,
                    "s": status,
                    "m": body["model"],
                    "p": body["prompt"],
                    "u": body["user_id"],
                    "t": body.get("story_type"),
                    "moral": body.get("moral"),
                    "e": error,
                    "meta": json.dumps(meta),
                },
            )

    def _finish_later(self, gid: str, body: dict) -> None:
        time.sleep(self.slow_s)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    f"UPDATE \"{self.schema}\".generations SET status = 'success', completed_at = clock_timestamp()"
                    " WHERE generation_id = CAST(:g AS uuid)"
                ),
                {"g": gid},
            )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> SupabaseServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        for t in self._threads:
            t.join(5)
        self.httpd.shutdown()
        self.httpd.server_close()

"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the openai provider's tests.

The requested model picks the behaviour, so one server covers every case:

| model | answer |
|---|---|
| fake/ok | 200 with usage and OpenRouter's usage.cost |
| fake/ok-nocost | 200 with usage only (cost comes from the price table) |
| fake/429-then-ok | 429 with an OpenRouter-style error on the first request, then like fake/ok |
| fake/500 | always 500 with an error body |
| fake/hang | waits (longer than the client timeout), then answers |
| fake/badjson | 200 with a truncated JSON body |
| fake/empty | 200 with an empty completion |
| fake/leaky | 401 whose message repeats the API key |

    with OpenAIServer(api_key="sk-test") as srv:
        srv.base_url  # http://127.0.0.1:<port>/v1
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COST = 0.000123


def completion(model: str, content: str = "Once upon a time, a small fox learned to share.", cost: bool = True) -> dict:
    usage = {"prompt_tokens": 42, "completion_tokens": 158, "total_tokens": 200}
    if cost:
        usage["cost"] = COST
    return {
        "id": "chatcmpl-fake-1",
        "object": "chat.completion",
        "created": 1_790_000_000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": usage,
    }


class OpenAIServer:
    def __init__(self, api_key: str = "sk-test", hang_s: float = 5.0) -> None:
        self.api_key, self.hang_s = api_key, hang_s
        self.calls: Counter[str] = Counter()
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set on exit so a hanging handler returns at once
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _json(self, code: int, obj) -> None:
                self._send(code, json.dumps(obj).encode())

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": f"no route {self.path}"}})
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._json(401, {"error": {"message": "Invalid API key", "code": 401}})
                model = body.get("model", "")
                with server.lock:
                    server.calls[model] += 1
                    n = server.calls[model]
                    server.requests.append(body)
                if model == "fake/leaky":  # a provider that echoes the key back in its error
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    return self._json(401, {"error": {"message": f"Incorrect API key provided: {key}", "code": 401}})
                if model == "fake/ok":
                    return self._json(200, completion(model))
                if model == "fake/ok-nocost":
                    return self._json(200, completion(model, cost=False))
                if model == "fake/429-then-ok":
                    if n == 1:
                        return self._json(
                            429,
                            {"error": {"message": "Rate limit exceeded: free-models-per-min", "code": 429}},
                        )
                    return self._json(200, completion(model))
                if model == "fake/500":
                    return self._json(500, {"error": {"message": "Internal server error from upstream", "code": 500}})
                if model == "fake/hang":
                    server.release.wait(server.hang_s)
                    return self._json(200, completion(model))
                if model == "fake/badjson":
                    return self._send(
                        200, b'{"id": "chatcmpl-bad", "choices": [{"index": 0, "message": {"content": "Once'
                    )
                if model == "fake/empty":
                    return self._json(200, completion(model, content=""))
                return self._json(404, {"error": {"message": f"model {model} not found", "code": 404}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

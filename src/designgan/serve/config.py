"""Settings of the HTTP service, validated once when the app is built."""

from __future__ import annotations

from dataclasses import dataclass

# A generate request with 16 keywords of 64 characters is under 2 KiB of JSON, and a
# morph or blend request names two ideas; 64 KiB leaves room without letting one
# client hold megabytes of memory per connection.
DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class ServeConfig:
    """Limits and options of one app built by `create_app`."""

    # Threads that run generator forward passes. One is the default because PyTorch
    # already spreads each forward pass over the CPU cores; a second thread mostly
    # competes for the same cores.
    inference_threads: int = 1
    # Requests that may wait for a free inference thread; one more gets 503 with Retry-After.
    max_waiting: int = 32
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger request bodies get 413
    cors_origins: tuple[str, ...] = ()  # browser origins allowed to call the API; empty = CORS off
    warm_up: bool = True  # draw one image before /readyz reports ready, so the first request is not slow

    def validate(self) -> "ServeConfig":
        if self.inference_threads < 1:
            raise ValueError(f"inference_threads={self.inference_threads} is out of range; use 1 or more.")
        if self.max_waiting < 0:
            raise ValueError(f"max_waiting={self.max_waiting} is out of range; use 0 or more.")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes={self.max_body_bytes} is out of range; use 1024 or more.")
        for origin in self.cors_origins:
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"CORS origin {origin!r} is invalid; use a full origin such as http://localhost:3000.")
        return self

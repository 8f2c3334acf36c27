"""Where and how the OTLP/gRPC receiver listens: a module of its own, without grpcio, so the
roof and the settings file can name it without loading the gRPC server."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class GrpcSettings:
    """Where and how OTLP/gRPC listens.

    Parameters:
        port: 4317, OTLP's usual; None serves no gRPC, 0 picks a free port.
        host: the listen address (loopback unless the lab opens it, with tokens).
        workers: threads serving gRPC calls.
    """

    port: int | None = 4317
    host: str = "127.0.0.1"
    workers: int = 8

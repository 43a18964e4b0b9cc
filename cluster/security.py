"""Authentication and TLS for both planes.

Owns: the shared-secret check (`--token` / env QUIVER_TOKEN) for gRPC
(metadata `x-quiver-token`, checked by a server interceptor) and Arrow
Flight (the same header, checked by a server middleware), TLS credentials
from certificate files, and turning transport errors into quiver.errors
with a clear message. With no token configured, calls are not checked.
"""

from __future__ import annotations

import hmac
import os

import grpc

from .. import errors

TOKEN_HEADER = "x-quiver-token"


def resolve_token(token: str | None) -> str | None:
    """The given token, else $QUIVER_TOKEN, else the config file's [connect]
    token, else None (no authentication)."""
    if token:
        return token
    from ..config import connect_token
    return os.environ.get("QUIVER_TOKEN") or connect_token()


def token_ok(expected: str | None, given: str | bytes | None) -> bool:
    if not expected:
        return True
    if given is None:
        return False
    if isinstance(given, bytes):
        given = given.decode("utf-8", "replace")
    return hmac.compare_digest(expected.encode(), given.encode())


def read_file(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


# --- gRPC ---------------------------------------------------------------------

class TokenInterceptor(grpc.ServerInterceptor):
    """Refuse every call whose metadata lacks the right token."""

    def __init__(self, token: str | None):
        self.token = token

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "authentication failed: missing or wrong Quiver token")
        self._deny = grpc.unary_unary_rpc_method_handler(deny)

    def intercept_service(self, continuation, handler_call_details):
        if self.token:
            given = dict(handler_call_details.invocation_metadata or ()).get(TOKEN_HEADER)
            if not token_ok(self.token, given):
                return self._deny
        return continuation(handler_call_details)


GRPC_OPTIONS = [("grpc.max_send_message_length", 1 << 30),
                ("grpc.max_receive_message_length", 1 << 30),
                # keepalive: a frozen peer (SIGSTOP) is noticed within ~15 s
                # on a long call, and a restarted coordinator is found again
                # within ~2 s (not gRPC's default reconnect backoff of minutes)
                ("grpc.keepalive_time_ms", 10000),
                ("grpc.keepalive_timeout_ms", 5000),
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.max_pings_without_data", 0),
                ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
                ("grpc.http2.max_ping_strikes", 0),
                ("grpc.initial_reconnect_backoff_ms", 200),
                ("grpc.min_reconnect_backoff_ms", 200),
                ("grpc.max_reconnect_backoff_ms", 2000)]


def server_port(server: grpc.Server, address: str, cert: str | None, key: str | None) -> int:
    """Bind `address`, with TLS when a certificate and key are given."""
    if cert or key:
        if not (cert and key):
            raise errors.InterfaceError("TLS needs both --tls-cert and --tls-key")
        creds = grpc.ssl_server_credentials([(read_file(key), read_file(cert))])
        return server.add_secure_port(address, creds)
    return server.add_insecure_port(address)


def channel(address: str, tls_root: str | None = None, tls: bool = False) -> grpc.Channel:
    """A channel to host:port, TLS when a root certificate is given (or tls=True)."""
    if tls_root or tls:
        creds = grpc.ssl_channel_credentials(root_certificates=read_file(tls_root))
        return grpc.secure_channel(address, creds, options=GRPC_OPTIONS)
    return grpc.insecure_channel(address, options=GRPC_OPTIONS)


def metadata(token: str | None) -> tuple:
    return ((TOKEN_HEADER, token),) if token else ()


def grpc_error(exc: grpc.RpcError, address: str) -> errors.Error:
    """A quiver error for a failed control-plane call."""
    code = exc.code() if hasattr(exc, "code") else None
    detail = exc.details() if hasattr(exc, "details") else str(exc)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return errors.OperationalError(
            f"authentication failed at coordinator {address}: {detail}")
    if code == grpc.StatusCode.UNAVAILABLE:
        return errors.OperationalError(f"coordinator {address} is unavailable: {detail}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.OperationalError(f"coordinator {address} did not answer in time")
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return errors.OperationalError(
            f"{address} is not a Quiver coordinator (it does not know this call: {detail})")
    if code == grpc.StatusCode.CANCELLED:
        return errors.QueryCancelled("query cancelled")
    return errors.OperationalError(f"coordinator {address}: {code.name if code else ''} {detail}")


# --- Flight -------------------------------------------------------------------

def flight_middleware(token: str | None) -> dict:
    """Server middleware dict for pyarrow.flight.FlightServerBase(middleware=...)."""
    if not token:
        return {}
    from pyarrow import flight

    class _Factory(flight.ServerMiddlewareFactory):
        def start_call(self, info, headers):
            values = headers.get(TOKEN_HEADER) or headers.get(TOKEN_HEADER.encode()) or []
            given = values[0] if values else None
            if not token_ok(token, given):
                raise flight.FlightUnauthenticatedError(
                    "authentication failed: missing or wrong Quiver token")
            return None

    return {"auth": _Factory()}


def flight_call_options(token: str | None, timeout: float | None = None):
    from pyarrow import flight
    headers = [(TOKEN_HEADER.encode(), token.encode())] if token else []
    return flight.FlightCallOptions(headers=headers, timeout=timeout)

"""A minimal OTLP/HTTP logs receiver on 127.0.0.1 that decodes what arrives with opentelemetry-proto."""

from __future__ import annotations

import gzip
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(v: AnyValue) -> Any:
    """A protobuf AnyValue as a plain Python value."""
    which = v.WhichOneof("value")
    if which == "array_value":
        return [any_value(x) for x in v.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in v.kvlist_value.values}
    return getattr(v, which) if which else None


class OtlpReceiver:
    """Collects ExportLogsServiceRequest messages POSTed to /v1/logs."""

    def __init__(self) -> None:
        self.requests: list[ExportLogsServiceRequest] = []
        self.paths: list[str] = []
        self.content_types: list[str] = []
        self._got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                msg = ExportLogsServiceRequest()
                msg.ParseFromString(body)
                with receiver._got:
                    receiver.requests.append(msg)
                    receiver.paths.append(self.path)
                    receiver.content_types.append(self.headers.get("Content-Type", ""))
                    receiver._got.notify_all()
                out = ExportLogsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def log_records(self) -> list[tuple[dict[str, Any], Any]]:
        """Every received log record as (resource attributes, LogRecord)."""
        out = []
        with self._got:
            for req in self.requests:
                for rl in req.resource_logs:
                    res = {kv.key: any_value(kv.value) for kv in rl.resource.attributes}
                    for sl in rl.scope_logs:
                        for lr in sl.log_records:
                            out.append((res, lr))
        return out

    def wait_for(self, n: int, timeout: float = 20.0) -> None:
        """Block until n log records have arrived (or fail after `timeout`)."""
        with self._got:
            ok = self._got.wait_for(lambda: sum(
                len(sl.log_records) for r in self.requests for rl in r.resource_logs for sl in rl.scope_logs
            ) >= n, timeout)
        if not ok:
            raise AssertionError(f"expected {n} OTLP log records within {timeout}s")

    def __enter__(self) -> "OtlpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def attrs(log_record: Any) -> dict[str, Any]:
    """A LogRecord's attributes as a dict."""
    return {kv.key: any_value(kv.value) for kv in log_record.attributes}

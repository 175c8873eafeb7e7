"""Export each ledger event as an OpenTelemetry log record over OTLP/HTTP, for an agency's collector.

The attributes carry the ledger record's fields under `clientguard.*` names. The prompt is
never exported unless asked for: a collector is one more place data lands.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from clientguard import __version__
from clientguard.ledger.record import EgressRecord, LedgerError
from clientguard.ledger.store import LedgerEntry

EVENT_NAME = "clientguard.egress"
_LOGS_PATH = "/v1/logs"


def logs_url(endpoint: str) -> str:
    """The OTLP/HTTP logs URL for a collector endpoint (`http://host:4318` → `.../v1/logs`)."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LedgerError(f"--otel-endpoint {endpoint!r} is not an http(s) URL such as http://127.0.0.1:4318")
    if parts.path.rstrip("/").endswith(_LOGS_PATH):
        return endpoint
    return endpoint.rstrip("/") + _LOGS_PATH


def record_attributes(record: EgressRecord, entry: LedgerEntry | None = None, *, include_prompt: bool = False) -> dict[str, Any]:
    """The OpenTelemetry attributes for one record: the same fields as the ledger, flat."""
    attrs: dict[str, Any] = {
        "clientguard.client": record.client,
        "clientguard.agent": record.agent,
        "clientguard.provider": record.provider,
        "clientguard.endpoint": record.endpoint,
        "clientguard.account": record.account,
        "clientguard.plan": record.plan,
        "clientguard.mode": record.mode,
        "clientguard.verdict": record.verdict,
        "clientguard.bytes_sent": record.bytes_sent,
        "clientguard.redactions.count": record.redaction_count,
        "clientguard.redactions": json.dumps(record.redactions, sort_keys=True),
        "clientguard.reasons": json.dumps(record.reasons, sort_keys=True),
        "clientguard.files": list(record.files),
        "clientguard.ts": str(record.ts),
    }
    by_kind: dict[str, int] = {}
    for r in record.redactions:
        by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + int(r["count"])
    for kind, n in sorted(by_kind.items()):
        attrs[f"clientguard.redactions.{kind}"] = n
    if record.request_sha256 is not None:
        attrs["clientguard.request_sha256"] = record.request_sha256
    if record.status is not None:
        attrs["http.response.status_code"] = record.status
    if record.duration_ms is not None:
        attrs["clientguard.duration_ms"] = record.duration_ms
    if entry is not None:
        # The entry hash makes the collector an external anchor for the ledger's chain.
        attrs["clientguard.ledger.seq"] = entry.seq
        attrs["clientguard.ledger.hash"] = entry.hash
    if include_prompt and record.prompt is not None:
        attrs["clientguard.prompt"] = record.prompt
    return attrs


def _on_loopback(url: str) -> bool:
    from clientguard.gateway.proxy import is_loopback

    return is_loopback(urlsplit(url).hostname or "")


def _direct_session():
    """A requests session that ignores HTTP_PROXY and its kin: a collector on this machine is reached directly,
    not through a client network's proxy (which would receive every record)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    return session


class OtelExporter:
    """Send ledger records to an OTLP/HTTP collector as log records.

    `batch=True` (the default) queues records and sends them from a background thread, so
    a slow collector never delays the agent; `close()` flushes what is queued.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        batch: bool = True,
        include_prompt: bool = False,
        service_name: str = "clientguard",
    ) -> None:
        self.endpoint = logs_url(endpoint)
        self.include_prompt = include_prompt
        self._exporter = OTLPLogExporter(endpoint=self.endpoint, headers=headers, timeout=timeout,
                                         session=_direct_session() if _on_loopback(self.endpoint) else None)
        resource = Resource.create({"service.name": service_name, "service.version": __version__})
        self._provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        processor = BatchLogRecordProcessor(self._exporter) if batch else SimpleLogRecordProcessor(self._exporter)
        self._provider.add_log_record_processor(processor)
        self._logger = self._provider.get_logger("clientguard.ledger", __version__)
        self._closed = False

    def export(self, record: EgressRecord, entry: LedgerEntry | None = None) -> None:
        """Queue one record (with its ledger entry's seq and hash when given) for export."""
        if self._closed:
            raise LedgerError("OtelExporter.export called after close()")
        blocked = record.verdict == "block"
        self._logger.emit(
            timestamp=int(record.timestamp.timestamp() * 1_000_000_000),
            severity_number=SeverityNumber.WARN if blocked else SeverityNumber.INFO,
            severity_text="WARN" if blocked else "INFO",
            body=f"{record.verdict} {record.provider} {record.endpoint} ({record.agent})",
            attributes=record_attributes(record, entry, include_prompt=self.include_prompt),
            event_name=EVENT_NAME,
        )

    def flush(self, timeout_ms: int = 10_000) -> bool:
        """Send everything queued; True if it all went out in time."""
        return bool(self._provider.force_flush(timeout_ms))

    def close(self) -> None:
        """Flush and stop the background exporter."""
        if not self._closed:
            self._closed = True
            self._provider.force_flush(10_000)
            self._provider.shutdown()

    def __enter__(self) -> "OtelExporter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

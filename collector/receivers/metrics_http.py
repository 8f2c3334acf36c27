"""``GET /metrics``: the collector's own telemetry in Prometheus text format.

Built with prometheus_client's custom-collector API: values are read from the collector's
counters at scrape time, so there is no second set of counters to keep in step. The
ingester's Kafka lag is read from the last background measurement
(:class:`~autoscope.warehouse.lag.IngesterLag`): a scrape never talks to Kafka.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from autoscope.collector.intake import Intake
from autoscope.collector.sinks.forwarder import Forwarder
from autoscope.collector.stats import IngesterLagReading

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: the label of an ``extra`` family, where it is not a kind; and its help text
EXTRA_LABELS = {"otlp_events_without_identity": "tool"}
EXTRA_HELP = {
    "otlp_unmapped": "OTLP records that map to no event, by kind and name (log:<event>, metric:<name>, span:<name>)",
    "otlp_events_without_identity": "OTLP events that named no person (kept as the unidentified actor, or "
    "quarantined), by source tool: set user.email in OTEL_RESOURCE_ATTRIBUTES "
    "or map the id in [otlp.identity.people]",
}
Labelled = Callable[[], dict[str, dict[str, int]]]


class _CollectorMetrics:
    def __init__(
        self,
        intake: Intake,
        forwarder: Forwarder,
        extra: Labelled | None,
        dropped: Callable[[], dict[str, int]] | None,
        lag: IngesterLagReading | None,
    ) -> None:
        self.intake = intake
        self.forwarder = forwarder
        self.extra = extra
        self.dropped = dropped
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        stats = self.intake.stats.snapshot()
        accepted = CounterMetricFamily("autoscope_events_accepted", "events written durably to the spool")
        accepted.add_metric([], float(stats["accepted"]))  # type: ignore[arg-type]
        yield accepted
        rejected = CounterMetricFamily(
            "autoscope_events_rejected", "events rejected and kept in the quarantine, by field", labels=["field"]
        )
        for field, count in stats["rejected_by_field"].items():  # type: ignore[union-attr]
            rejected.add_metric([field], float(count))
        yield rejected
        refused = CounterMetricFamily(
            "autoscope_requests_refused",
            "whole requests refused (the sender keeps and retries them), by reason and sending tool",
            labels=["reason", "tool"],
        )
        for reason, by_tool in stats["requests_refused_by_tool"].items():  # type: ignore[union-attr]
            for tool, count in by_tool.items():
                refused.add_metric([reason, tool], float(count))
        yield refused
        if self.dropped is not None:
            dropped = CounterMetricFamily(
                "autoscope_events_dropped", "records taken in and kept nowhere, by reason", labels=["reason"]
            )
            for reason, count in self.dropped().items():
                dropped.add_metric([reason], float(count))
            yield dropped
        spool = GaugeMetricFamily("autoscope_spool_bytes", "bytes in the spool not yet deleted")
        spool.add_metric([], float(self.intake.spool.total_bytes))
        yield spool
        forwarded = CounterMetricFamily("autoscope_kafka_records_forwarded", "spool records acknowledged by Kafka")
        forwarded.add_metric([], float(self.forwarder.forwarded_records))
        yield forwarded
        errors = CounterMetricFamily("autoscope_kafka_errors", "Kafka failures that made the forwarder start over")
        errors.add_metric([], float(self.forwarder.kafka_errors))
        yield errors
        if self.lag is not None:
            yield from self._lag(self.lag)
        for name, by_label in (self.extra() if self.extra else {}).items():
            family = CounterMetricFamily(
                f"autoscope_{name}",
                EXTRA_HELP.get(name, name.replace("_", " ")),
                labels=[EXTRA_LABELS.get(name, "kind")],
            )
            for label, count in by_label.items():
                family.add_metric([label], float(count))
            yield family

    @staticmethod
    def _lag(lag: IngesterLagReading) -> Iterator[Metric]:
        records = GaugeMetricFamily(
            "autoscope_ingester_lag_records",
            "records in Kafka the warehouse ingester's consumer group has not committed",
            labels=["topic", "partition"],
        )
        for (topic, partition), behind in sorted(lag.snapshot().items()):
            records.add_metric([topic, str(partition)], float(behind))
        yield records
        failures = CounterMetricFamily("autoscope_ingester_lag_failures", "lag measurements that failed")
        failures.add_metric([], float(lag.failures))
        yield failures
        if lag.refreshed_at is not None:
            refreshed = GaugeMetricFamily(
                "autoscope_ingester_lag_refreshed_timestamp_seconds", "when the lag was last measured"
            )
            refreshed.add_metric([], lag.refreshed_at)
            yield refreshed


def metrics_routes(
    intake: Intake,
    forwarder: Forwarder,
    extra: Labelled | None = None,
    dropped: Callable[[], dict[str, int]] | None = None,
    lag: IngesterLagReading | None = None,
) -> list[Route]:
    """``/metrics``; ``extra`` adds labelled counters (e.g. unmapped OTLP telemetry by kind),
    ``dropped`` what is dropped by design, by reason, and ``lag`` the ingester's Kafka lag."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_CollectorMetrics(intake, forwarder, extra, dropped, lag))  # type: ignore[arg-type]

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry), 200, media_type=CONTENT_TYPE)

    return [Route("/metrics", metrics, methods=["GET"])]

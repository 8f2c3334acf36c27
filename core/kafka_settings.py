"""Where Kafka is and how to talk to it: one settings object shared by producer and consumer.

Nothing here knows which broker it talks to; the embedded Tansu broker and a lab's cluster
differ only in the values (and the consumer-group timings, see :attr:`session_timeout_ms`).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

DEFAULT_TOPIC = "autoscope.events.v1"
DEFAULT_CONSUMER_GROUP = "autoscope-warehouse"
BOOTSTRAP_ENV = "AUTOSCOPE_KAFKA_BOOTSTRAP"


@dataclasses.dataclass(frozen=True)
class KafkaSettings:
    """Connection settings passed through to kafka-python.

    Parameters:
        bootstrap_servers: ``host:port[,host:port]``.
        topic: the events topic; created with ``partitions`` partitions if missing.
        consumer_group: the ingester's consumer group (one per warehouse).
        security_protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        sasl_mechanism, sasl_username, sasl_password: SASL credentials for a lab's cluster.
        ssl_cafile, ssl_certfile, ssl_keyfile: TLS material for a lab's cluster.
        session_timeout_ms, heartbeat_interval_ms: consumer-group timings. A group join takes
            about half the session timeout on the embedded broker, so the default is 6 s
            rather than kafka-python's 45 s.
    """

    bootstrap_servers: str
    topic: str = DEFAULT_TOPIC
    consumer_group: str = DEFAULT_CONSUMER_GROUP
    partitions: int = 1
    replication_factor: int = 1
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    session_timeout_ms: int = 6000
    heartbeat_interval_ms: int = 2000

    @classmethod
    def from_env(cls, bootstrap_servers: str | None = None, **overrides: Any) -> KafkaSettings | None:
        """Settings from ``AUTOSCOPE_KAFKA_*`` variables; None when no bootstrap is configured."""
        bootstrap = bootstrap_servers or os.environ.get(BOOTSTRAP_ENV)
        if not bootstrap:
            return None
        env = os.environ.get
        values: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "topic": env("AUTOSCOPE_KAFKA_TOPIC", DEFAULT_TOPIC),
            "consumer_group": env("AUTOSCOPE_KAFKA_GROUP", DEFAULT_CONSUMER_GROUP),
            "security_protocol": env("AUTOSCOPE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            "sasl_mechanism": env("AUTOSCOPE_KAFKA_SASL_MECHANISM"),
            "sasl_username": env("AUTOSCOPE_KAFKA_SASL_USERNAME"),
            "sasl_password": env("AUTOSCOPE_KAFKA_SASL_PASSWORD"),
            "ssl_cafile": env("AUTOSCOPE_KAFKA_SSL_CAFILE"),
            "ssl_certfile": env("AUTOSCOPE_KAFKA_SSL_CERTFILE"),
            "ssl_keyfile": env("AUTOSCOPE_KAFKA_SSL_KEYFILE"),
        }
        if env("AUTOSCOPE_KAFKA_PARTITIONS"):
            values["partitions"] = int(env("AUTOSCOPE_KAFKA_PARTITIONS", "1"))
        values.update(overrides)
        return cls(**values)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments common to KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers.split(","),
            "security_protocol": self.security_protocol,
        }
        optional = {
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.sasl_username,
            "sasl_plain_password": self.sasl_password,
            "ssl_cafile": self.ssl_cafile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
        }
        kwargs.update({k: v for k, v in optional.items() if v is not None})
        return kwargs

    def consumer_kwargs(self) -> dict[str, Any]:
        """client_kwargs plus the consumer-group timings."""
        return {
            **self.client_kwargs(),
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
        }


def ensure_topic(settings: KafkaSettings) -> None:
    """Create the events topic if it does not exist (idempotent; races are harmless)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**settings.client_kwargs())
    try:
        if settings.topic in admin.list_topics():
            return
        try:
            admin.create_topics([NewTopic(settings.topic, settings.partitions, settings.replication_factor)])
        except TopicAlreadyExistsError:
            pass
    finally:
        admin.close()

"""The mapping's shortcuts give what the plain rules give: identity looked up once per
resource, and the attribute names of an event's fields built only when an error needs them."""

from __future__ import annotations

import gc
import random

import pytest

from autoscope.collector.mapping import autoscope_semconv
from autoscope.collector.mapping.identity import IdentitySettings, ResourceIdentity, envelope
from autoscope.collector.mapping.records import Record

NAMES = [
    "user.email",
    "user.id",
    "enduser.id",
    "team",
    "department",
    "autoscope.team",
    "service.name",
    "service.version",
    "app.version",
    "other",
    "autoscope.actor",
    "autoscope.source.tool",
]
VALUES = ["ada@lab.org", "", "x", 0, 7, 1.5, True, False, None, [1], {"a": 1}, "rl"]


def random_attributes(rng: random.Random) -> dict:
    return {rng.choice(NAMES): rng.choice(VALUES) for _ in range(rng.randint(0, 6))}


@pytest.mark.parametrize(
    "settings",
    [
        IdentitySettings(),
        IdentitySettings(
            actor_attributes=("user.id",),
            team_attributes=("department", "team"),
            default_team="lab",
            tool_attributes=("app.name", "service.name"),
            default_version="0",
        ),
    ],
)
def test_resource_identity_gives_what_envelope_gives(settings: IdentitySettings) -> None:
    rng = random.Random(5)
    for _ in range(3000):
        record, resource = random_attributes(rng), random_attributes(rng)
        event, _ = envelope(settings, record, resource)
        actor, team, tool, version = ResourceIdentity(settings, resource).values(record)
        assert (actor, team, {"tool": tool, "version": version}) == (event.get("actor"), event["team"], event["source"])


def _record(attributes: dict, time_ns: int = 1_764_300_000_000_000_000) -> Record:
    return Record(
        0,
        "log record 0",
        attributes,
        {"service.name": "svc", "user.id": "ada"},
        "s",
        time_ns,
        str(attributes.get("event.name", "")),
    )


def test_field_names_are_built_when_asked_and_name_the_attribute() -> None:
    record = _record(
        {
            "event.name": "autoscope.task",
            "autoscope.human_minutes": "lots",
            "autoscope.source.version": "2",
            "team": "rl",
        }
    )
    event = autoscope_semconv.map_log(record, IdentitySettings())
    assert event.raw["human_minutes"] == "lots" and event.raw["source"] == {"tool": "svc", "version": "2"}
    assert event.raw["actor"] == "ada" and event.raw["team"] == "rl" and event.raw["type"] == "task"
    assert event._fields is None  # not built while nothing is wrong
    assert not gc.is_tracked(event) and not gc.is_tracked(record)
    assert event.explain("$.human_minutes", "Expected `float`") == (
        "log record 0: attribute autoscope.human_minutes ($.human_minutes): Expected `float`"
    )
    assert event.fields == {
        "actor": "user.id",
        "team": "team",
        "source": "service.name",
        "source.tool": "service.name",
        "source.version": "autoscope.source.version",
        "type": "event.name",
        "human_minutes": "autoscope.human_minutes",
        "occurred_at": "time_unix_nano",
    }
    event.fields["extra"] = "x"  # callers may add to them
    assert event.fields["extra"] == "x"


def test_an_attribute_may_name_any_field_even_the_envelope() -> None:
    record = _record(
        {
            "event.name": "autoscope.impression",
            "autoscope.type": "review",
            "autoscope.actor": "bob",
            "autoscope.source": "ignored",
            "autoscope.schema_version": 2,
        }
    )
    raw = autoscope_semconv.map_log(record, IdentitySettings()).raw
    assert raw["type"] == "review" and raw["actor"] == "bob" and raw["schema_version"] == 2
    assert raw["source"] == {"tool": "svc", "version": "unknown"}  # the source dict wins, as before
    assert list(raw)[:5] == ["type", "schema_version", "actor", "team", "source"]


def reference_map_log(record: Record, identity: IdentitySettings) -> dict:
    """map_log's dict by the plain rules, one attribute at a time (as it was first written)."""
    from autoscope.collector.mapping.attributes import iso_from_nanos, sorted_items, stable_id

    base, _ = envelope(identity, record.attributes, record.resource)
    name = record.name
    raw = {"type": name[len("autoscope.") :] if name.startswith("autoscope.") else "", "schema_version": 1, **base}
    source = dict(base["source"])
    for key, value in record.attributes.items():
        if key.startswith("autoscope."):
            field = key[len("autoscope.") :]
            if field.startswith("source."):
                source[field[len("source.") :]] = value
            else:
                raw[field] = value
    raw["source"] = source
    occurred = iso_from_nanos(record.time_ns)
    if "occurred_at" not in raw and occurred:
        raw["occurred_at"] = occurred
    if "event_id" not in raw:
        raw["event_id"] = stable_id("log", record.time_ns, record.body, sorted_items(record.attributes))
    return raw


def test_map_log_gives_what_the_plain_rules_give() -> None:
    rng = random.Random(9)
    names = NAMES + [
        "autoscope.event_id",
        "autoscope.occurred_at",
        "autoscope.source.version",
        "autoscope.score",
        "autoscope.source",
        "autoscope.type",
        "event.name",
    ]
    settings = [IdentitySettings(), IdentitySettings(team_attributes=("autoscope.team", "team"), default_tool="t")]
    plans: list[dict] = [{}, {}]  # a mapper's plans are for its one identity setting
    for i in range(4000):
        identity = settings[i % 2]
        keys = rng.sample(names, rng.randint(0, 9))
        attributes = {k: rng.choice(VALUES + ["0190d6a2-7a9b-7c1e-8f00-0123456789ab"]) for k in keys}
        resource = random_attributes(rng)
        record = Record(
            i,
            f"log record {i}",
            attributes,
            resource,
            "s",
            rng.choice([0, 1_764_300_000_000_000_000]),
            rng.choice(["autoscope.task", "autoscope.", "autoscope.review"]),
            rng.choice([None, "b"]),
        )
        want = reference_map_log(record, identity)
        for who in (None, ResourceIdentity(identity, resource)):
            got = autoscope_semconv.map_log(record, identity, who, plans[i % 2] if i % 3 else None).raw
            assert repr(got) == repr(want), (attributes, resource)

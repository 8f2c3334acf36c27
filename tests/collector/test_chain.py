"""The collector's chain is one list, in the order collector/chain.py documents; its stages
do what their place promises (a team-bound token's events are restricted before pseudonyms)."""

from __future__ import annotations

import json
from pathlib import Path

from autoscope.collector.chain import build_chain
from autoscope.collector.intake import Limits
from autoscope.collector.mapping.mapper import Mapper
from autoscope.collector.mapping.settings import OtlpSettings
from autoscope.collector.pipeline import Batch, Sender, run
from autoscope.collector.pseudonymize import Pseudonymizer, load_or_create_key
from autoscope.collector.stages.pseudonymize import pseudonymize_actors
from autoscope.collector.stages.restrict import restrict_to_token_team
from autoscope.collector.stages.validate import validate_events
from tests.event_samples import event


def test_native_and_otlp_chains_share_every_stage_after_decoding_and_mapping(tmp_path: Path) -> None:
    chain = build_chain(Limits(), Pseudonymizer(load_or_create_key(tmp_path)), Mapper(OtlpSettings()))
    names = [stage.__name__ for stage in chain.native]
    assert names == ["decode", "limit", "validate_events", "restrict_to_token_team", "pseudonymize"]
    for signal in ("logs", "traces", "metrics"):
        otlp = [stage.__name__ for stage in chain.otlp(signal)]
        assert otlp == ["decode_otlp", "map_otlp", "limit", *names[1:]]
        assert chain.otlp(signal)[3:] == chain.native[1:]  # the same objects: one rate limiter, one list


def test_a_team_bound_senders_other_team_event_is_rejected_and_the_rest_pseudonymized(tmp_path: Path) -> None:
    pseudonymizer = Pseudonymizer(load_or_create_key(tmp_path))
    chain = build_chain(Limits(), pseudonymizer, Mapper(OtlpSettings()))
    ours = event("task", event_id="0190d6a2-7a9b-7c1e-8f00-0123456789a1", team="ml-infra", actor="ada")
    theirs = event("task", event_id="0190d6a2-7a9b-7c1e-8f00-0123456789a2", team="other", actor="bob")
    batch = run(chain.native, Batch(body=json.dumps([ours, theirs]).encode(), sender=Sender("nb", "id1", "ml-infra")))
    assert batch.refusal is None
    assert [item.accepted for item in batch.items] == [True, False]
    assert batch.items[1].error is not None and batch.items[1].error.field == "$.team"
    assert batch.items[0].event.actor == pseudonymizer("ada") != "ada"


def test_stages_are_the_ones_the_chain_module_names() -> None:
    assert validate_events.__module__.endswith("stages.validate")
    assert restrict_to_token_team.__module__.endswith("stages.restrict")
    assert pseudonymize_actors.__module__.endswith("stages.pseudonymize")

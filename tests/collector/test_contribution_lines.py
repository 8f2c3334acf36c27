"""Issue 13's additive Contribution fields: optional, checked, and every older event still valid."""

from __future__ import annotations

import pytest

from autoscope.collector.contract import ContractError, convert_event
from tests.event_samples import event


def test_an_event_without_the_new_fields_is_still_valid() -> None:
    decoded = convert_event(event("contribution"))
    assert (decoded.lines_added, decoded.lines_deleted, decoded.line_class, decoded.on_default_branch) == (
        None,
        None,
        None,
        None,
    )


def test_a_commit_with_lines_and_automation_as_first_author() -> None:
    decoded = convert_event(
        event(
            "contribution",
            first_author="automation",
            ai_share=0.0,
            lines_added=12,
            lines_deleted=3,
            line_class="automation",
            on_default_branch=True,
        )
    )
    assert (decoded.first_author, decoded.lines_added, decoded.lines_deleted) == ("automation", 12, 3)
    assert decoded.line_class == "automation" and decoded.on_default_branch is True


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"lines_added": -1}, "$.lines_added", ">= 0"),
        ({"lines_deleted": 2.5}, "$.lines_deleted", "Expected `int"),
        ({"line_class": "robot"}, "$.line_class", "allowed: automation, ai_authored"),
        ({"on_default_branch": "yes"}, "$.on_default_branch", "Expected `bool"),
        ({"first_author": "bot"}, "$.first_author", "allowed: ai, human, automation"),
    ],
)
def test_bad_values_name_the_field_and_reason(fields: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        convert_event(event("contribution", **fields))
    assert caught.value.field == field
    assert reason in caught.value.reason

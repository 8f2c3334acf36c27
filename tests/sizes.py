"""How much the suite generates: its ``ci`` size (the default) or its ``full`` size.

The two sizes are hypothesis profiles, registered in ``tests/conftest.py``:

* ``ci``, the default (the README's test command and ``.ci/run``): property tests run a tenth of
  the examples they were written for, and the slow fault tests run at reduced size, so the whole
  suite takes minutes on a 2-core machine;
* ``full`` (``pytest --hypothesis-profile=full``): every property test at the number of examples
  it was written for, and the fault tests at the size the README's Reliability figures come from.

Tests read the size here when their module is imported; pytest loads the profile (hypothesis's
``--hypothesis-profile`` option) before it collects, so the choice is made once per run.
"""

from __future__ import annotations

from hypothesis import settings

#: the profile's name, or a variant hypothesis derives from it ("full-with-verbose-verbosity")
FULL: bool = settings.get_current_profile_name().startswith("full")


def examples(full: int) -> int:
    """Hypothesis examples for a test written for ``full`` of them: all of them in the ``full``
    profile, a tenth in ``ci`` (never fewer than 10, so a property still meets varied input)."""
    return full if FULL else max(10, full // 10)


def scale(full: float, ci: float) -> float:
    """A fault test's size: ``full`` in the ``full`` profile, ``ci`` otherwise."""
    return full if FULL else ci

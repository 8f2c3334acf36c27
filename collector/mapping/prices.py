"""USD for model calls whose client reports tokens but no cost (Gemini CLI, Codex CLI).

A lab configures ``[otlp.prices]`` in ``autoscope.toml``: model → USD per million tokens of each
kind, e.g. ``"gpt-5.1-codex" = {input = 1.25, output = 10.0, cache_read = 0.125}``. A model is
looked up by its exact name, then by the longest configured prefix (``gemini-2.5-pro`` covers
``gemini-2.5-pro-preview-05-06``). A spend row priced this way says so (``priced``): it is an
estimate at list price, not what the lab was billed. A model with no price gets USD 0 and is
not marked priced, so the tokens are kept and the missing price shows as zero spend.

:data:`DEFAULT_PRICES` are the providers' public list prices (standard tier, prompts under
200k tokens) as of :data:`DEFAULT_PRICES_AS_OF`, for the models the recorded clients use
(tests/fixtures/real_clients) that had a published price then; prices change, so a lab sets its
own table (a configured table replaces these). Models without a price here — e.g. the
``gemini-3.*`` names Gemini CLI's router picked in one recording — are stored with their tokens
and USD 0, not priced. Token kinds follow the clients' own accounting: ``input`` includes the
cached part for Gemini and OpenAI (cached tokens are billed at ``cache_read`` instead of
``input``), thoughts/reasoning are billed as output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

#: the date the default list prices were read; say it wherever they are shown
DEFAULT_PRICES_AS_OF = "2025-10"


@dataclasses.dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens. ``cache_read`` defaults to the input price (no discount known)."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is not None and (not isinstance(value, (int, float)) or value < 0):
                raise ValueError(f"price {field.name} must be a number ≥ 0 (USD per million tokens), got {value!r}")


#: public list prices (USD per million tokens) as of :data:`DEFAULT_PRICES_AS_OF`: check them
#: against the providers' pricing pages before relying on the USD they give
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-5.1-codex": ModelPrice(input=1.25, output=10.0, cache_read=0.125),
    "gpt-5.1": ModelPrice(input=1.25, output=10.0, cache_read=0.125),
    "gpt-5": ModelPrice(input=1.25, output=10.0, cache_read=0.125),
    "gemini-2.5-pro": ModelPrice(input=1.25, output=10.0, cache_read=0.31),
    "gemini-2.5-flash-lite": ModelPrice(input=0.10, output=0.40, cache_read=0.025),
    "gemini-2.5-flash": ModelPrice(input=0.30, output=2.50, cache_read=0.075),
}


def prices_from_mapping(data: Mapping[str, Any]) -> dict[str, ModelPrice]:
    """``[otlp.prices]`` → prices; a bad entry raises naming the model and the key."""
    out = {}
    for model, entry in data.items():
        if not isinstance(entry, Mapping):  # a settings error, reported as the others are
            raise ValueError(  # noqa: TRY004
                f"otlp.prices.{model}: expected a table of USD per million tokens, got {entry!r}"
            )
        unknown = set(entry) - {f.name for f in dataclasses.fields(ModelPrice)}
        if unknown:
            raise ValueError(
                f"otlp.prices.{model}: unknown key(s) {', '.join(sorted(unknown))}"
                " (expected input, output, cache_read, cache_write)"
            )
        try:
            out[str(model)] = ModelPrice(**entry)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"otlp.prices.{model}: {exc}") from None
    return out


def find_price(prices: Mapping[str, ModelPrice], model: str | None) -> ModelPrice | None:
    if not model:
        return None
    if model in prices:
        return prices[model]
    bare = model.rsplit("/", 1)[-1]
    if bare in prices:
        return prices[bare]
    matches = [name for name in prices if bare.startswith(name)]
    return prices[max(matches, key=len)] if matches else None


def price_usd(
    price: ModelPrice,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
    input_includes_cache: bool = True,
) -> float:
    """The USD of one call. ``input_includes_cache``: the client's input count includes the
    cached part (Gemini, OpenAI), which is then billed at the cache-read price instead."""
    uncached = max(0, input_tokens - cache_read) if input_includes_cache else input_tokens
    read_price = price.input if price.cache_read is None else price.cache_read
    write_price = price.input if price.cache_write is None else price.cache_write
    total = uncached * price.input + output_tokens * price.output + cache_read * read_price + cache_write * write_price
    return round(total / 1e6, 12)

"""Campaign definitions: a TOML file under `campaigns/` -> a validated `Campaign`.

Every error names the file, the key and what is wrong, so ops can fix the file
without reading code.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reactivate.errors import ConfigError
from reactivate.messages import t
from reactivate.rules import funnel

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Product:
    """A product (or service) advisors push; `risk` is its rating R1-R5 as 1-5."""

    code: str
    name: str
    risk: int


@dataclass(frozen=True)
class Dormancy:
    """Who joins: no trade for `min_days` as of `as_of`, optionally within an asset range."""

    as_of: dt.date
    min_days: int
    min_assets: float | None = None
    max_assets: float | None = None


@dataclass(frozen=True)
class AssignmentSettings:
    """Defaults for `reactivate assign`; the command's flags override them."""

    max_per_advisor: int | None = None
    keep_owner: bool = True
    cross_branch: bool = False
    holdout: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class FollowupSettings:
    """When a client who did not answer is due for another call."""

    max_attempts: int = 3
    retry_delay_hours: float = 4.0


@dataclass(frozen=True)
class Campaign:
    """A named effort over a set of dormant clients."""

    slug: str
    name: str
    start: dt.date
    end: dt.date
    dormancy: Dormancy
    products: tuple[Product, ...]
    stages: tuple[str, ...] = funnel.STAGES
    dispositions: tuple[str, ...] = funnel.DISPOSITIONS
    targets: Mapping[str, float] = field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    asset_edges: tuple[float, ...] = funnel.DEFAULT_ASSET_EDGES
    assignment: AssignmentSettings = AssignmentSettings()
    followup: FollowupSettings = FollowupSettings()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def product(self, code_or_name: str) -> Product | None:
        """The product named by code or by name (case and spaces ignored)."""
        wanted = _fold(code_or_name)
        for product in self.products:
            if wanted in (_fold(product.code), _fold(product.name)):
                return product
        return None


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def read_file(path: Path) -> str:
    """The text of a campaign file (the database keeps it as registered)."""
    if not path.is_file():
        raise ConfigError(t("error.file_missing", file=path))
    try:
        # Windows editors save UTF-8 with a byte-order mark, which TOML does not allow.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(t("error.campaign_toml", file=path, problem=exc)) from exc


def from_toml(text: str, source: str) -> Campaign:
    """Validate a campaign given as TOML text; `source` names it in errors."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(t("error.campaign_toml", file=source, problem=exc)) from exc
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ConfigError(t("error.campaign_toml", file=source, problem=exc)) from None
    except RecursionError:  # tomllib parses nested arrays and tables by recursion
        raise ConfigError(
            t("error.campaign_toml", file=source, problem=t("problem.toml_nesting"))
        ) from None
    return parse(data, source=source)


def parse(data: Mapping[str, Any], source: str) -> Campaign:
    """Validate a campaign given as plain data (parsed TOML or stored JSON)."""
    reader = _Reader(data, source)
    slug = reader.string("slug")
    if not SLUG_PATTERN.match(slug):
        reader.fail("slug", t("campaign.slug_format"))
    start = reader.date("start")
    end = reader.date("end")
    if end < start:
        reader.fail("end", t("campaign.end_before_start", end=end, start=start))

    timezone = reader.string("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        reader.fail("timezone", t("campaign.unknown_timezone", timezone=timezone))

    dormancy_data = reader.table("dormancy")
    dormancy_reader = _Reader(dormancy_data, source, prefix="dormancy.")
    dormancy = Dormancy(
        as_of=dormancy_reader.date("as_of"),
        min_days=dormancy_reader.integer("min_days", minimum=0, maximum=_MAX_DAYS),
        min_assets=dormancy_reader.number("min_assets", None),
        max_assets=dormancy_reader.number("max_assets", None),
    )

    funnel_reader = _Reader(reader.table("funnel", {}), source, prefix="funnel.")
    stages = funnel_reader.choices("stages", funnel.STAGES, funnel.STAGES, ordered=True)
    dispositions = funnel_reader.choices("dispositions", funnel.DISPOSITIONS, funnel.DISPOSITIONS)

    products = tuple(_product(item, source, i) for i, item in enumerate(reader.list("products")))
    if not products:
        reader.fail("products", t("campaign.no_products"))
    codes = [p.code for p in products]
    if len(set(codes)) != len(codes):
        reader.fail("products", t("campaign.product_codes_repeat"))

    targets_data = reader.table("targets", {})
    targets: dict[str, float] = {}
    for stage in targets_data:
        if stage not in stages:
            reader.fail(
                f"targets.{stage}", t("campaign.target_not_stage", stages=", ".join(stages))
            )
        targets[stage] = _Reader(targets_data, source, prefix="targets.").rate(stage)

    bands = [_finite(e) for e in reader.list("asset_bands", list(funnel.DEFAULT_ASSET_EDGES))]
    edges = tuple(band for band in bands if band is not None)
    if len(edges) != len(bands) or not edges or list(edges) != sorted(set(edges)) or edges[0] <= 0:
        reader.fail("asset_bands", t("campaign.asset_bands"))

    assign_reader = _Reader(reader.table("assignment", {}), source, prefix="assignment.")
    max_per = assign_reader.integer("max_per_advisor", None, minimum=1)
    assignment = AssignmentSettings(
        max_per_advisor=max_per,
        keep_owner=assign_reader.boolean("keep_owner", True),
        cross_branch=assign_reader.boolean("cross_branch", False),
        holdout=assign_reader.rate("holdout", 0.0, below_one=True),
        seed=assign_reader.integer("seed", 0),
    )
    follow_reader = _Reader(reader.table("followup", {}), source, prefix="followup.")
    followup = FollowupSettings(
        max_attempts=follow_reader.integer("max_attempts", 3, minimum=1),
        retry_delay_hours=follow_reader.number("retry_delay_hours", 4.0) or 0.0,
    )
    if not 0 <= followup.retry_delay_hours <= _MAX_DAYS * 24:
        follow_reader.fail(
            "retry_delay_hours", t("campaign.retry_hours", most=f"{_MAX_DAYS * 24:,}")
        )
    return Campaign(
        slug=slug,
        name=reader.string("name"),
        start=start,
        end=end,
        dormancy=dormancy,
        products=products,
        stages=stages,
        dispositions=dispositions,
        targets=targets,
        timezone=timezone,
        asset_edges=edges,
        assignment=assignment,
        followup=followup,
    )


def _product(item: Any, source: str, index: int) -> Product:
    reader = _Reader(
        item if isinstance(item, Mapping) else {}, source, prefix=f"products[{index}]."
    )
    if not isinstance(item, Mapping):
        reader.fail("", t("campaign.product_table"))
    risk_text = reader.string("risk").strip().upper()
    if not re.fullmatch(r"R[1-5]", risk_text):
        reader.fail("risk", t("campaign.product_risk", value=risk_text))
    return Product(code=reader.string("code"), name=reader.string("name"), risk=int(risk_text[1]))


_MISSING = object()
#: Whole numbers are stored and compared as 64-bit integers (SQLite, PostgreSQL, polars).
_MAX_INTEGER = 2**63 - 1
#: Days back a dormancy may reach: a century, well inside the dates Python can count.
_MAX_DAYS = 36_500


def _finite(value: Any) -> float | None:
    """A TOML number as a finite float; None for text, booleans, inf, nan and integers
    too large for a float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = float(value)
    except OverflowError:
        return None
    return amount if math.isfinite(amount) else None


class _Reader:
    """Typed access to one table of the campaign file; failures name the key."""

    def __init__(self, data: Mapping[str, Any], source: str, prefix: str = "") -> None:
        self.data, self.source, self.prefix = data, source, prefix

    def fail(self, key: str, problem: str) -> None:
        raise ConfigError(
            t("error.campaign_key", file=self.source, key=self.prefix + key, problem=problem)
        )

    def _get(self, key: str, default: Any) -> Any:
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            self.fail(key, t("campaign.missing"))
        return default

    def string(self, key: str, default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, t("campaign.text"))
        return str(value).strip()

    def date(self, key: str) -> dt.date:
        value = self._get(key, _MISSING)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(key, t("campaign.date", value=repr(value)))
        raise AssertionError  # unreachable: fail raises

    def integer(
        self,
        key: str,
        default: Any = _MISSING,
        minimum: int | None = None,
        maximum: int = _MAX_INTEGER,
    ) -> Any:
        value = self._get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, t("campaign.whole", value=repr(value)))
        if minimum is not None and value < minimum:
            self.fail(key, t("campaign.at_least", minimum=minimum))
        if value > maximum:
            self.fail(key, t("campaign.at_most", maximum=f"{maximum:,}"))
        return value

    def number(self, key: str, default: Any = _MISSING) -> float | None:
        value = self._get(key, default)
        if value is None:
            return None
        amount = _finite(value)
        if amount is None:
            self.fail(key, t("campaign.number", value=repr(value)))
        return amount

    def rate(self, key: str, default: Any = _MISSING, below_one: bool = False) -> float:
        value = self.number(key, default)
        upper_ok = value is not None and (value < 1 if below_one else value <= 1)
        if value is None or value < 0 or not upper_ok:
            limit = "below 1" if below_one else "at most 1"
            self.fail(key, t("campaign.share", limit=limit))
        return float(value or 0.0)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            self.fail(key, t("campaign.boolean", value=repr(value)))
        return bool(value)

    def table(self, key: str, default: Any = _MISSING) -> Mapping[str, Any]:
        value = self._get(key, default)
        if not isinstance(value, Mapping):
            self.fail(key, t("campaign.table"))
        return value  # type: ignore[no-any-return]

    def list(self, key: str, default: Any = _MISSING) -> list[Any]:
        value = self._get(key, default)
        if not isinstance(value, list):
            self.fail(key, t("campaign.list"))
        return value  # type: ignore[no-any-return]

    def choices(
        self, key: str, allowed: tuple[str, ...], default: tuple[str, ...], ordered: bool = False
    ) -> tuple[str, ...]:
        values = self.list(key, list(default))
        for value in values:
            if value not in allowed:
                self.fail(key, t("campaign.not_allowed", value=value, allowed=", ".join(allowed)))
        if len(set(values)) != len(values):
            self.fail(key, t("campaign.repeat"))
        if ordered and [v for v in allowed if v in values] != list(values):
            self.fail(key, t("campaign.order", allowed=", ".join(allowed)))
        return tuple(values)

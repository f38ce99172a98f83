"""Load and validate ``config.yaml``; errors name the file, the key path and what was expected.

Validation happens before anything touches the network or the database, so a typo costs a
one-line message rather than a half-finished run. Unknown keys are errors: they are usually typos.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipeline.errors import ConfigError
from pipeline.language import ISO_639_1

CONFIG_ENV_VAR = "POLICY_RISK_CONFIG"
DATABASE_ENV_VAR = "DATABASE_URL"
DEFAULT_CONFIG_NAME = "config.yaml"
_SIGNAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


# Numbers are strict everywhere: a quoted "0.6" is a string in YAML and is refused like a quoted
# weight, rather than silently converted by some fields and not by others.
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
WholeNumber = Annotated[int, Field(strict=True)]
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def _weight(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number between -1 and 1")
    if not -1.0 <= float(value) <= 1.0:
        raise ValueError("expected a number between -1 and 1")
    return float(value)


Weight = Annotated[float, BeforeValidator(_weight)]


def _feed_url(value: Any) -> Any:
    """Accept any case of the scheme (``HTTP://`` is the same URL) and store it lower-cased."""
    if not isinstance(value, str):
        return value  # the str type check reports it
    scheme, sep, rest = value.partition("://")
    try:
        host = urlsplit(value).hostname
    except ValueError:
        host = None
    if not sep or scheme.lower() not in ("http", "https") or not host:
        raise ValueError("expected an http:// or https:// URL")
    return scheme.lower() + sep + rest


def _language(value: Any) -> Any:
    if isinstance(value, str) and not (_LANGUAGE.match(value) and value in ISO_639_1):
        raise ValueError("expected a two-letter lower-case ISO 639-1 code such as en or es")
    return value


FeedUrl = Annotated[str, BeforeValidator(_feed_url)]
Language = Annotated[str, BeforeValidator(_language)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class DatabaseConfig(_Strict):
    url: str = "sqlite:///data/policy_risk.db"


class FeedConfig(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: FeedUrl
    full_text: bool = False
    language: Language | None = None
    enabled: bool = True


class FetchConfig(_Strict):
    connect_timeout_s: Annotated[Number, Field(gt=0, le=120)] = 10.0
    read_timeout_s: Annotated[Number, Field(gt=0, le=300)] = 20.0
    total_timeout_s: Annotated[Number, Field(gt=0, le=600)] = 60.0
    max_bytes: Annotated[WholeNumber, Field(gt=0, le=200_000_000)] = 10_000_000
    max_redirects: Annotated[WholeNumber, Field(ge=0, le=20)] = 5
    concurrency: Annotated[WholeNumber, Field(ge=1, le=64)] = 8
    per_host: Annotated[WholeNumber, Field(ge=1, le=16)] = 2
    allow_private_addresses: bool = False
    user_agent: str = "PolicyRiskMonitor/0.1 (+https://github.com/policy-risk-monitor)"
    backoff_base_s: Annotated[Number, Field(ge=0, le=86_400)] = 300.0
    backoff_max_s: Annotated[Number, Field(ge=0, le=604_800)] = 21_600.0
    claim_ttl_s: Annotated[Number, Field(gt=0, le=86_400)] = 600.0
    min_interval_s: Annotated[Number, Field(ge=0, le=604_800)] = 0.0
    full_text_max_pages: Annotated[WholeNumber, Field(ge=0, le=1_000)] = 20


class SourcesConfig(_Strict):
    seeds: list[Path] = Field(default_factory=list)
    feeds: list[FeedConfig] = Field(default_factory=list)
    fetch: FetchConfig = Field(default_factory=FetchConfig)


class MonitorConfig(_Strict):
    """The country pair whose relations the signals track."""

    country: str = "Colombia"
    country_terms: list[str] = Field(default_factory=lambda: ["colombia"])
    partner: str = "United States"
    partner_terms: list[str] = Field(default_factory=lambda: ["united states", "u.s."])
    relevance_model: Path = Path("models/relevance")


class SignalConfig(_Strict):
    label: Annotated[str, Field(min_length=1)]
    description: str = ""
    kind: Literal["risk", "tone"] = "risk"
    positive_from: Number = 2.0
    keywords: list[str] = Field(default_factory=list)
    weight: Weight
    examples: Path | None = None
    model: Path | None = None


class Annotation(_Strict):
    date: date
    label: Annotated[str, Field(min_length=1, max_length=80)]


class YearlyAnnotation(_Strict):
    """An event that recurs on (about) the same day every year, drawn for each year shown."""

    month: Annotated[WholeNumber, Field(ge=1, le=12)]
    day: Annotated[WholeNumber, Field(ge=1, le=28)]
    label: Annotated[str, Field(min_length=1, max_length=80)]


def _default_yearly() -> list[YearlyAnnotation]:
    # Issue 5 (d): the US "majors list" determination is due by 15 September each year and the
    # State Department's International Narcotics Control Strategy Report comes out in early March.
    return [
        YearlyAnnotation(month=9, day=15, label="US majors-list determination (yearly)"),
        YearlyAnnotation(month=3, day=1, label="INCSR published (early March, yearly)"),
    ]


class IndexConfig(_Strict):
    period: Literal["day", "week", "month"] = "day"
    smoothing_window: Annotated[WholeNumber, Field(ge=1, le=365)] = 7
    alert_threshold: Annotated[Number, Field(ge=0, le=1)] = 0.6
    provisional_days: Annotated[WholeNumber, Field(ge=0, le=60)] = 2
    min_articles: Annotated[WholeNumber, Field(ge=0, le=10_000)] = 1
    relevance_threshold: Annotated[Number, Field(ge=0, le=1)] = 0.5
    annotations: list[Annotation] = Field(default_factory=list)
    yearly_annotations: list[YearlyAnnotation] = Field(default_factory=_default_yearly)
    thin_coverage_ratio: Annotated[Number, Field(ge=0, le=1)] = 0.25
    share_threshold: Annotated[Number, Field(ge=0, le=1)] = 0.5


class Config(_Strict):
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    signals: dict[str, SignalConfig]
    index: IndexConfig = Field(default_factory=IndexConfig)
    path: Path = Path(DEFAULT_CONFIG_NAME)

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent

    def weights(self) -> dict[str, float]:
        """Return each signal's weight as configured."""
        return {name: signal.weight for name, signal in self.signals.items()}


def default_config_path() -> Path:
    """Return the config path from ``POLICY_RISK_CONFIG``, else ``config.yaml`` here."""
    return Path(os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_NAME)


def load_config(path: Path | str | None = None) -> Config:
    """Read, validate and resolve a config file."""
    config_path = Path(path) if path is not None else default_config_path()
    raw = read_yaml(config_path)
    if not isinstance(raw, dict):
        got = "got an empty file" if raw is None else f"got {_show(raw)}"
        raise ConfigError(
            f"{config_path.name}: expected a mapping of settings at the top level, {got} (line 1)"
        )
    try:
        config = Config.model_validate({**raw, "path": config_path.resolve()})
    except ValidationError as exc:
        raise ConfigError(_describe(config_path, raw, exc.errors()[0])) from None
    _check_signal_names(config_path, raw, config)
    _check_feed_names(config_path, raw, config)
    return _resolve(config)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file with line information kept, turning every failure into ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path.name}: config file not found at {path} "
            f"(pass --config PATH or set {CONFIG_ENV_VAR})"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read config file {path}: {exc}") from None
    yaml = YAML(typ="rt")
    yaml.Constructor = _MarkingConstructor
    try:
        return yaml.load(text)
    except _UnbuildableValue as exc:
        raise ConfigError(_describe_unbuildable(path, text, exc)) from None
    except YAMLError as exc:
        raise ConfigError(f"{path.name}: invalid YAML: {_yaml_problem(exc, text)}") from None


def _yaml_problem(exc: YAMLError, text: str) -> str:
    """One line: what the parser found wrong, and on which line."""
    mark = getattr(exc, "problem_mark", None)
    position = getattr(exc, "position", None)  # a ReaderError (e.g. a NUL byte) has no mark
    if mark is not None:
        line: int | None = mark.line + 1
    elif isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    else:
        line = None
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem}{_where(line)}"


class _UnbuildableValue(YAMLError):
    """A scalar the YAML constructor could not build, such as the date ``2025-02-30``."""

    def __init__(self, node: Node, cause: Exception) -> None:
        super().__init__(str(cause))
        self.node, self.cause = node, cause


class _MarkingConstructor(RoundTripConstructor):
    """Report which node a constructor failure (a ValueError from ``datetime.date``, say) came from.

    ruamel raises such errors bare, without the line; every one of them should reach the analyst
    as a ConfigError naming the file, the key path and the line.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except YAMLError:
            raise
        except Exception as exc:  # any failure to build a value is a bad value in the file
            raise _UnbuildableValue(node, exc) from None


_KINDS = {
    "tag:yaml.org,2002:timestamp": "a date (YYYY-MM-DD)",
    "tag:yaml.org,2002:int": "a whole number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
}


def _describe_unbuildable(path: Path, text: str, error: _UnbuildableValue) -> str:
    node = error.node
    value = node.value if isinstance(node, ScalarNode) else f"a {type(node).__name__}"
    kind = _KINDS.get(node.tag if isinstance(node.tag, str) else str(node.tag), "a valid value")
    if "timestamp" in str(node.tag) and isinstance(value, str) and len(value) > 10:
        kind = "a date and time (YYYY-MM-DD HH:MM:SS)"
    key_path = _node_path(YAML(typ="rt").compose(text), node) or []
    shown = ".".join(key_path) or "(top level)"
    return (
        f"{path.name}: {shown}: {value} is not {kind}: {error.cause} "
        f"(line {node.start_mark.line + 1})"
    )


def _node_path(root: Node | None, target: Node) -> list[str] | None:
    """The key path of the node that starts where ``target`` does, in a freshly composed tree."""
    if root is None:
        return None
    if root.start_mark.index == target.start_mark.index and root.tag == target.tag:
        return []
    children: list[tuple[str, Node]] = []
    if isinstance(root, MappingNode):
        children = [(str(key.value), value) for key, value in root.value]
    elif isinstance(root, SequenceNode):
        children = [(str(i), item) for i, item in enumerate(root.value)]
    for name, child in children:
        found = _node_path(child, target)
        if found is not None:
            return [name, *found]
    return None


def _check_signal_names(path: Path, raw: Any, config: Config) -> None:
    if not config.signals:
        line = _line_of(raw, ["signals"])
        raise ConfigError(f"{path.name}: signals: expected at least one signal{_where(line)}")
    for name in config.signals:
        if not _SIGNAL_NAME.match(name):
            line = _line_of(raw, ["signals", name])
            raise ConfigError(
                f"{path.name}: signals.{name}: expected a name of lower-case letters, digits and "
                f"underscores, starting with a letter{_where(line)}"
            )


def _check_feed_names(path: Path, raw: Any, config: Config) -> None:
    """A feed's name keys its health row and its failures in the run log, so two feeds sharing
    one would read as one feed (the second never fetched, its failure charged to the first)."""
    first: dict[str, int] = {}
    for number, feed in enumerate(config.sources.feeds):
        if feed.name in first:
            line = _line_of(raw, ["sources", "feeds", number, "name"])
            raise ConfigError(
                f"{path.name}: sources.feeds.{number}.name: {feed.name!r} is already the name of "
                f"sources.feeds.{first[feed.name]}; expected a name of its own{_where(line)}"
            )
        first[feed.name] = number


def _where(line: int | None) -> str:
    return f" (line {line})" if line else ""


def line_suffix(node: Any, *path: Any) -> str:
    """`` (line N)`` for the key at ``path`` below a round-trip YAML node, as config errors end;
    empty when the line is unknown (the config writer and OPML import end their errors so too)."""
    return _where(_line_of(node, list(path)))


def _resolve(config: Config) -> Config:
    base = config.base_dir
    signals = {
        name: signal.model_copy(
            update={
                "examples": _under(base, signal.examples),
                "model": _under(base, signal.model) or (base / "models" / name),
            }
        )
        for name, signal in config.signals.items()
    }
    monitor = config.monitor.model_copy(
        update={"relevance_model": _under(base, config.monitor.relevance_model)}
    )
    url = os.environ.get(DATABASE_ENV_VAR) or config.database.url
    sources = config.sources.model_copy(
        update={"seeds": [_under(base, p) for p in config.sources.seeds]}
    )
    return config.model_copy(
        update={
            "signals": signals,
            "sources": sources,
            "monitor": monitor,
            "database": DatabaseConfig(url=resolve_sqlite_url(url, base)),
        }
    )


def _under(base: Path, path: Path | None) -> Path | None:
    if path is None:
        return None
    return path if path.is_absolute() else (base / path).resolve()


def resolve_sqlite_url(url: str, base: Path) -> str:
    """Make a relative SQLite path absolute against the config folder; other URLs pass through."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/") or url == "sqlite:///:memory:":
        return url
    return prefix + str((base / url[len(prefix) :]).resolve())


def _describe(path: Path, raw: Any, error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    key_path = ".".join(loc) or "(top level)"
    line = _line_of(raw, list(error["loc"]))
    return f"{path.name}: {key_path}: {explain_error(error)}{_where(line)}"


def explain_error(error: ErrorDetails) -> str:
    """Say in plain words what a pydantic error expected and what it got."""
    kind, ctx = error["type"], error.get("ctx") or {}
    got = _show(error.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see docs/config.md for the allowed keys)"
    if kind == "value_error":
        return f"{str(ctx.get('error', error['msg']))}, got {got}"
    messages = {
        "float_parsing": "expected a number",
        "float_type": "expected a number",
        "finite_number": "expected a finite number",
        "int_parsing": "expected a whole number",
        "int_type": "expected a whole number",
        "int_from_float": "expected a whole number",
        "bool_parsing": "expected true or false",
        "bool_type": "expected true or false",
        "string_type": "expected a text value",
        "list_type": "expected a list",
        "dict_type": "expected a mapping",
        "model_type": "expected a mapping",
        "date_from_datetime_parsing": "expected a date (YYYY-MM-DD)",
        "date_parsing": "expected a date (YYYY-MM-DD)",
        "date_type": "expected a date (YYYY-MM-DD)",
        "greater_than": f"expected a number greater than {ctx.get('gt')}",
        "greater_than_equal": f"expected a number of at least {ctx.get('ge')}",
        "less_than": f"expected a number less than {ctx.get('lt')}",
        "less_than_equal": f"expected a number of at most {ctx.get('le')}",
        "literal_error": f"expected one of {ctx.get('expected')}",
        "string_pattern_mismatch": "expected an http:// or https:// URL",
        "string_too_short": "expected a non-empty text",
        "string_too_long": f"expected at most {ctx.get('max_length')} characters",
    }
    return f"{messages.get(kind, 'invalid value: ' + error['msg'])}, got {got}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value, default=str)


def _line_of(raw: Any, loc: list[Any]) -> int | None:
    node, line = raw, None
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and part in node:
                line = lc.key(part)[0] + 1 if lc is not None else line
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1 if lc is not None else line
                node = node[part]
            else:
                break
        except (KeyError, IndexError, AttributeError, TypeError):
            break
    return line

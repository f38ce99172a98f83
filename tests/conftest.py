"""Shared fixtures: real temp databases, real configs, and the skip-or-fail rule for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop that lacks something optional, but fail in CI, where it must exist."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def shared_dir() -> Path:
    """The read-only ../shared folder (original seed, feedparser corpus); CI always has it."""
    require(SHARED.is_dir(), f"{SHARED} not found (it sits beside the clone in CI only)")
    return SHARED


def write_config(
    folder: Path,
    *,
    seeds: list[Path] | None = None,
    feeds: list[dict[str, object]] | None = None,
    extra: str = "",
    db_name: str = "test.db",
) -> Path:
    """Write a real config.yaml into ``folder`` using the shipped models and a temp SQLite file."""
    import json

    seed_list = [str(p) for p in (seeds if seeds is not None else [ROOT / "seeds"])]
    text = f"""
database:
  url: sqlite:///{folder / db_name}
sources:
  seeds: {json.dumps(seed_list)}
  feeds: {json.dumps(feeds or [])}
monitor:
  relevance_model: {ROOT / 'models' / 'relevance'}
signals:
  decertification_risk:
    label: Decertification risk
    kind: risk
    weight: 0.6
    examples: {ROOT / "models" / "data"}
    model: {ROOT / "models" / "decertification_risk"}
  cooperation_tone:
    label: Cooperation tone
    kind: tone
    weight: 0.4
    examples: {ROOT / "models" / "data"}
    model: {ROOT / "models" / "cooperation_tone"}
index:
  period: day
  smoothing_window: 7
  alert_threshold: 0.6
{extra}
"""
    path = folder / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    """A small folder of seed files of our own, in the seed format (English and Spanish)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for name, body in SMALL_SEEDS.items():
        (folder / name).write_text(body, encoding="utf-8")
    return folder


@pytest.fixture
def config_path(tmp_path: Path, seed_dir: Path) -> Path:
    """A real config on a temp SQLite database with the small seed folder."""
    return write_config(tmp_path, seeds=[seed_dir])


SMALL_SEEDS = {
    "decert.txt": """Washington declares Colombia failed demonstrably in drug fight | Test Wire
Tuesday, September 16, 2025
Home » World » Washington declares Colombia failed demonstrably in drug fight

Washington declares Colombia failed demonstrably in drug fight

The White House decertified Colombia as a partner in the fight against narcotics on September 15, 2025, while waiving aid cuts.

Photo: Test Wire archive

The presidential determination sent to Congress on Monday said Colombia had failed demonstrably to meet its counternarcotics obligations, citing record coca cultivation and cocaine production.

A national-interest waiver keeps most assistance flowing, but officials warned that sanctions and further cuts could follow if coca eradication does not recover.

You may read: Coffee prices rise after frost in Brazil

Bogotá rejected the decision and called it an insult to the police officers who died fighting drug traffickers.
""",
    "acuerdo.txt": """Colombia y Estados Unidos firman acuerdo de cooperación | Diario de Prueba
jueves, 27 de marzo de 2025
Inicio » Internacional » Colombia y Estados Unidos firman acuerdo de cooperación

Colombia y Estados Unidos firman acuerdo de cooperación

Los dos gobiernos firmaron el 27 de marzo de 2025 una carta de intención para compartir datos biométricos y reforzar la cooperación migratoria.

Foto: Cancillería

La secretaria visitante y la canciller destacaron la buena relación bilateral y anunciaron nuevas reuniones de trabajo conjuntas.

Lea también: El clima en Bogotá para el fin de semana

Ambas delegaciones celebraron el acercamiento y prometieron ampliar los programas de intercambio y las operaciones conjuntas.
""",
    "football.txt": """Local club wins the cup after penalty shootout | Sports Daily
Sunday, May 12, 2024
Home » Sports » Local club wins the cup after penalty shootout

Local club wins the cup after penalty shootout

The home side lifted the trophy on May 12, 2024 after a tense final that ended level after extra time.

Fans celebrated in the streets of the city until late at night, and the coach praised the young goalkeeper who saved two penalties.

The team will play in the continental competition next season for the first time in a decade.
""",
}

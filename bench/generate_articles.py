"""Generate N synthetic news articles (English and Spanish) for the store benchmarks and tests.

The articles look enough like the real corpus to exercise the same code paths: about 300 words in
paragraphs, event dates spread over three years, several sources with their own language and URL
scheme, and a mix of topics (decertification and drug policy, cooperation, unrelated news) so the
models produce a spread of scores and the relevance gate has something to gate. Output is
deterministic for a given seed, so two runs of a benchmark ingest the same data.

Two arrival orders, with the same texts: ``shuffled`` (the default) gives each article a date
drawn at random from the three years, the worst case for the store's date indexes, as when an
archive is back-filled; ``chronological`` lets the dates advance with the article number, a few
days' lag at most, as a watched feed fills a store day by day.

Usage:
    python -m bench.generate_articles --n 1000000 --out /tmp/articles   # JSONL seed files
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipeline.records import RawItem

DAYS = 3 * 365 + 1
ARRIVALS = ("shuffled", "chronological")
MAX_LAG_DAYS = 3  # chronological: an article reports on the last few days, not only today


@dataclass(frozen=True, slots=True)
class Source:
    """A synthetic outlet: name, language (``mixed`` publishes both) and web domain."""

    name: str
    language: str
    domain: str


SOURCES = (
    Source("Wire Americas", "en", "wire-americas.example"),
    Source("Capital Ledger", "en", "capital-ledger.example"),
    Source("Hemisphere Review", "en", "hemisphere-review.example"),
    Source("El Diario Andino", "es", "diarioandino.example"),
    Source("La Voz de Bogotá", "es", "vozbogota.example"),
    Source("Noticias del Pacífico", "es", "noticiaspacifico.example"),
    Source("Agencia Bilingüe", "mixed", "agenciabilingue.example"),
    Source("Policy Monitor Weekly", "en", "policymonitor.example"),
)

_TOPICS = {
    "en": {
        "decertification": (
            "decertification certification drug majors list failed demonstrably coca cultivation "
            "cocaine production sanctions OFAC waiver aid cuts eradication counternarcotics "
            "determination Congress State Department narcotics trafficking cartel extradition"
        ),
        "cooperation": (
            "agreement cooperation memorandum partnership joint operations visit biometrics "
            "migration trade investment dialogue alliance security assistance ambassador "
            "signed welcomed strengthened bilateral summit program exchange"
        ),
        "dispute": (
            "tariffs deportation flights dispute retaliation visa revoked sanctions threat "
            "rejected insult tension recalled protest condemned crisis ultimatum"
        ),
        "other": (
            "football cup final goalkeeper coffee harvest weather rain festival museum concert "
            "marathon election municipal bridge traffic hospital school prices market"
        ),
    },
    "es": {
        "decertification": (
            "descertificación certificación drogas lista cultivos coca producción cocaína "
            "sanciones OFAC dispensa recortes ayuda erradicación antinarcóticos determinación "
            "Congreso Departamento de Estado narcotráfico cartel extradición"
        ),
        "cooperation": (
            "acuerdo cooperación memorando alianza operaciones conjuntas visita biometría "
            "migración comercio inversión diálogo seguridad asistencia embajador firmaron "
            "celebraron fortalecieron bilateral cumbre programa intercambio"
        ),
        "dispute": (
            "aranceles vuelos deportación disputa represalias visa revocada sanciones amenaza "
            "rechazó insulto tensión llamó a consultas protesta condenó crisis ultimátum"
        ),
        "other": (
            "fútbol copa final arquero cosecha café clima lluvia festival museo concierto "
            "maratón elecciones municipales puente tráfico hospital colegio precios mercado"
        ),
    },
}
_ACTORS = {
    "en": "Colombia Colombian Bogotá Petro Washington United States White House Trump officials",
    "es": "Colombia colombiano Bogotá Petro Washington Estados Unidos Casa Blanca Trump gobierno",
}
_FILLER = {
    "en": (
        "the of and to in a on for that with as said by was were from at its this it has have "
        "after before while new year week month government minister report analysts according "
        "statement officials people country region local national also more than about"
    ),
    "es": (
        "el la los las de del y en a por para que con como dijo fue fueron desde su sus este "
        "esta tras antes mientras nuevo año semana mes gobierno ministro informe analistas "
        "según comunicado funcionarios personas país región local nacional también más sobre"
    ),
}
_WEIGHTS = {"decertification": 0.3, "cooperation": 0.25, "dispute": 0.15, "other": 0.3}

_VOCAB = {
    lang: {
        "filler": _FILLER[lang].split(),
        "actors": _ACTORS[lang].split(),
        **{topic: words.split() for topic, words in _TOPICS[lang].items()},
    }
    for lang in ("en", "es")
}


def _sentence(rng: random.Random, vocab: dict[str, list[str]], topic: str) -> str:
    """A 12-20 word sentence: mostly filler, some topic terms, the actors only when on topic."""
    words = rng.choices(vocab["filler"], k=rng.randint(7, 12))
    words += rng.choices(vocab[topic], k=rng.randint(3, 6))
    if topic != "other":
        words += rng.choices(vocab["actors"], k=rng.randint(1, 2))
    rng.shuffle(words)
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _body(rng: random.Random, vocab: dict[str, list[str]], topic: str, words: int) -> str:
    paragraphs: list[str] = []
    count = 0
    while count < words:
        sentences = [_sentence(rng, vocab, topic) for _ in range(rng.randint(3, 5))]
        paragraphs.append(" ".join(sentences))
        count += sum(s.count(" ") + 1 for s in sentences)
    return "\n\n".join(paragraphs)


def _days_back(number: int, n: int, draw: int, arrival: str) -> int:
    """How many days before the last day article ``number`` of ``n`` is dated."""
    if arrival == "shuffled":
        return draw
    position = DAYS - 1 - number * DAYS // max(n, 1)
    return min(DAYS - 1, position + draw % (MAX_LAG_DAYS + 1))


def generate_records(
    n: int,
    *,
    seed: int = 0,
    last_day: date | None = None,
    words: int = 300,
    arrival: str = "shuffled",
) -> Iterator[dict[str, str]]:
    """Yield ``n`` JSON seed records (title, text, published, url, source, language)."""
    if arrival not in ARRIVALS:
        raise ValueError(f"arrival must be one of {', '.join(ARRIVALS)}, not {arrival!r}")
    rng = random.Random(seed)
    end = last_day or (datetime.now(UTC).date() - timedelta(days=1))
    topics, weights = list(_WEIGHTS), list(_WEIGHTS.values())
    for number in range(n):
        source = SOURCES[number % len(SOURCES)]
        language = source.language if source.language != "mixed" else rng.choice(("en", "es"))
        topic = rng.choices(topics, weights)[0]
        vocab = _VOCAB[language]
        day = end - timedelta(days=_days_back(number, n, rng.randrange(DAYS), arrival))
        title = " ".join(rng.choices(vocab[topic] + vocab["actors"], k=rng.randint(6, 10)))
        yield {
            "title": title.capitalize(),
            "text": _body(rng, vocab, topic, words),
            "published": day.isoformat(),
            "url": f"https://{source.domain}/{day:%Y/%m}/{seed}-{number}",
            "source": source.name,
            "language": language,
        }


def generate_items(
    n: int, *, seed: int = 0, words: int = 300, arrival: str = "shuffled"
) -> Iterator[RawItem]:
    """Yield ``n`` RawItems, as the seed reader would build them from the records."""
    records = generate_records(n, seed=seed, words=words, arrival=arrival)
    for number, record in enumerate(records):
        yield RawItem(
            origin=f"bench-{seed}.jsonl#{number + 1}",
            source=record["source"],
            title=record["title"],
            text=record["text"],
            url=record["url"],
            language=record["language"],
            page_date=date.fromisoformat(record["published"]),
        )


def write_jsonl(
    folder: Path, n: int, *, per_file: int = 10_000, seed: int = 0, words: int = 300
) -> list[Path]:
    """Write ``n`` records as JSONL seed files of ``per_file`` records each; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    handle = None
    try:
        for number, record in enumerate(generate_records(n, seed=seed, words=words)):
            if number % per_file == 0:
                if handle is not None:
                    handle.close()
                paths.append(folder / f"articles-{seed}-{number // per_file:05d}.jsonl")
                handle = paths[-1].open("w", encoding="utf-8")
            assert handle is not None
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if handle is not None:
            handle.close()
    return paths


def main() -> None:
    """Write JSONL seed files for ``policy-risk run`` or the benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="articles to generate")
    parser.add_argument("--out", type=Path, required=True, help="folder for the .jsonl files")
    parser.add_argument("--per-file", type=int, default=10_000, help="records per file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    args = parser.parse_args()
    paths = write_jsonl(args.out, args.n, per_file=args.per_file, seed=args.seed)
    print(f"wrote {args.n} articles into {len(paths)} file(s) under {args.out}")  # noqa: T201


if __name__ == "__main__":
    main()

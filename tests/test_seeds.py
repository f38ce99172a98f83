"""Seed files -> RawItems: boilerplate stripping, dates, formats, and unreadable files."""

from __future__ import annotations

import codecs
import functools
import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import SourceError
from pipeline.normalise import normalise_item
from pipeline.records import RawItem
from pipeline.seeds import (
    SeedReadResult,
    TextEncodingError,
    decode_utf8,
    parse_seed_text,
    read_seeds,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data" / "seeds"
SHIPPED = ROOT / "seeds"
EXPECTATIONS = ROOT / "tests" / "data" / "seed_expectations.json"
ORIGINAL = Path("seeds") / "000_be50ea76d524fca9.txt"

# Independent of pipeline/seeds.py's own rules: what must never survive into a body.
LEFTOVER_BOILERPLATE = re.compile(
    r"^(?i:you may (?:also )?read|read also|lea también|le puede interesar|lee también"
    r"|vea también|photo|foto|credit|graphic)\s*:|[.!?]\s+(?:Photo|Foto)\s*:|\s[»›]\s"
    r"|^(?i:home|inicio)\s*[»>/]|^https?://\S+$|^[a-záéíóúñ][^.!?,:]* \d{1,3}$"
    r"|^[^.!?:]*(?:,[^.!?:,]*){3,}$"
)


def _fixture(name: str) -> RawItem:
    """Read one of the invented fixtures through the public reader."""
    result = read_seeds([FIXTURES])
    assert result.errors == []
    return next(item for item in result.items if item.origin == f"seeds/{name}")


def _body(*lines: str, headline: str = "Ministers meet in Quito | Andes Ledger") -> str:
    """Parse a seed made of a headline, a date line and ``lines``; return the cleaned body."""
    text = "\n".join([headline, "March 3, 2025", "", *lines])
    return parse_seed_text(text, "seeds/inline.txt").text


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    """Write a seed file (text as UTF-8, bytes as given) and return its path."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _paragraphs(item: RawItem) -> list[str]:
    return item.text.split("\n\n")


# --- invented fixtures: English and Spanish boilerplate -------------------------------------


def test_read_seeds_strips_en_boilerplate_and_keeps_body() -> None:
    item = _fixture("en_boilerplate.txt")
    assert item.title == "Senate panel reviews aid package for Andean partners"
    assert item.source == "Andes Ledger"
    assert item.page_date == date(2025, 4, 8)
    assert item.event_date == date(2025, 4, 7)
    assert item.url is None
    assert _paragraphs(item) == [
        "A Senate committee opened hearings on a revised aid package for Colombia and Peru.",
        "The hearing began on April 3, when senators questioned officials about coca "
        "eradication targets.",
        "Funding review",
        "Photo evidence presented by the State Department showed new eradication sites in Nariño.",
        "Witnesses said the agency would read the final report before the vote.",
        "Inflation > 5% worried several senators, who asked for a cost table.",
        "The committee voted on April 7.",
        "Talks resumed in round 2",
    ]


def test_read_seeds_strips_es_boilerplate_with_non_breaking_spaces() -> None:
    item = _fixture("es_boilerplate.txt")
    assert item.title == "Colombia y EE. UU. firman acuerdo antidrogas en Cartagena"
    assert item.source == "Diario del Caribe"
    assert item.page_date == date(2025, 2, 12)
    assert item.event_date == date(2025, 2, 9)
    assert _paragraphs(item) == [
        "El ministro de Defensa y una delegación estadounidense firmaron el domingo 9 de febrero "
        "un memorando de cooperación naval.",
        "Las reuniones previas se realizaron el 6 y 7 de febrero en la base naval de Bocagrande.",
        "Antecedentes",
        "La foto oficial del encuentro circuló en redes sociales durante la tarde.",
        "Según el acuerdo, ambos países compartirán información de inteligencia marítima.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Home » International » Ministers meet in Quito",
        "Home\u00a0\u00a0»\u00a0\u00a0World\u00a0\u00a0»\u00a0\u00a0Ministers meet",
        "Inicio » Política » Ministros se reúnen",
        "Home > World > Americas",
        "Inicio / Noticias / Colombia",
        "Ministers meet in Quito",
        "Photo: Ministers at the Carondelet palace.",
        "Foto: Cancillería",
        "Foto/EFE",
        "Credit: Reuters",
        "Photo (AFP): Delegates pose for a picture",
        "You may read: Peru's congress debates mining reform",
        "You may also read: Colombia facing tariffs",
        "Read also: Bolivia names a new anti-narcotics chief",
        "Lea también: Congreso aprueba la reforma",
        "Le puede interesar: Así avanza la erradicación",
        "Lee también: El plan de seguridad rural",
        "Vea también: Nueva ruta de vuelos",
        "Gustavo Petro, president of Colombia, Kristi Noem, Andes Ledger",
        "decertification, national interest waiver, Gustavo Petro, Andes Ledger",
        "mujeres migrantes y movilidad global 3",
        "urnas elecciones Barranquilla 2",
        "Nicolás Maduro in Caracas. Photo: Hemisphere Wire file",
        "Graphic: Andes Ledger",
        "Wednesday, March 5, 2025",
        "https://andesledger.example/2025/03/another-story",
    ],
)
def test_clean_body_drops_boilerplate_line(line: str) -> None:
    assert _body("The ministers met for three hours.", line) == "The ministers met for three hours."


@pytest.mark.parametrize(
    "line",
    [
        "Photo evidence showed coca fields expanding near the border.",
        "Officials read the statement aloud before the press.",
        "You may read the full ruling on the court website.",
        "The vote passed.",
        "Talks resumed in round 2",
        "the count ended 12 to 3.",
        "Inflation > 5% rattled the markets.",
        "Petro, Noem and Sarabia spoke for an hour, Andes Ledger reported.",
        "Credits to the farmers were frozen in 2024.",
        "Migration and drug trafficking: key issues during the visit",
        "Bolivia: a door that may reopen",
        "Messi’s tears, Lautaro’s goal",
        "Aid continues, for now",
        "Coffee, cocoa, flowers and bananas",
        "The photo desk chose a picture of the port. Photographers were not allowed in.",
    ],
)
def test_clean_body_keeps_real_sentence(line: str) -> None:
    assert _body("The ministers met for three hours.", line).split("\n\n") == [
        "The ministers met for three hours.",
        line,
    ]


def test_clean_body_drops_tag_line_when_headline_has_no_site() -> None:
    tags = "IDEAM, rainy season, landslides, Bogotá, weather, Bogotá Post Review"
    body = _body("Rain fell for a week.", tags, "What to watch", headline="Rain peaks in Bogotá")
    assert body == "Rain fell for a week.\n\nWhat to watch"


def test_parse_seed_text_notes_missing_date_line() -> None:
    item = parse_seed_text("A headline\nThe body starts here on March 3, 2025.\n", "seeds/x.txt")
    assert item.page_date is None
    assert item.event_date == date(2025, 3, 3)
    assert item.source == "seeds"
    assert "no date line; page date unknown" in item.problems
    assert item.text == "The body starts here on March 3, 2025."


@pytest.mark.parametrize(
    "date_line",
    [
        "Publicado el 28 de agosto de 2026",
        "Actualizado el viernes 28 de agosto de 2026, 10:32 a. m.",
        "Published on August 28, 2026",
        "Updated on Aug. 28, 2026 10:32 a.m. ET",
    ],
)
def test_parse_seed_text_takes_labelled_date_line_as_page_date(date_line: str) -> None:
    """QA 5 #13: "Publicado el …" is the ordinary Spanish label; left in, it became the lead
    and the event date jumped from the Wednesday of the events to the Friday of the update."""
    text = "\n".join(
        [
            "Delegaciones revisan el plan de erradicación | Diario del Cerro",
            date_line,
            "",
            "Funcionarios de ambos gobiernos revisaron el miércoles 26 de agosto el plan conjunto.",
            "",
            "La revisión seguirá en octubre.",
        ]
    )
    item = parse_seed_text(text, "seeds/pd.txt")
    assert (item.page_date, item.event_date) == (date(2026, 8, 28), date(2026, 8, 26))
    assert item.text.startswith("Funcionarios de ambos gobiernos")
    assert date_line not in item.text
    assert item.problems == ()


def test_parse_seed_text_raises_when_only_headline() -> None:
    with pytest.raises(SourceError, match="no body text"):
        parse_seed_text("Headline | Site\nMarch 3, 2025\nHome » World\n", "seeds/x.txt")


def test_parse_seed_text_raises_when_first_line_is_date() -> None:
    with pytest.raises(SourceError, match="expected the headline first"):
        parse_seed_text("March 3, 2025\nBody sentence here.\n", "seeds/x.txt")


# --- the original seed, read by path from ../shared -----------------------------------------


@pytest.fixture
def original_item(shared_dir: Path) -> RawItem:
    result = read_seeds([shared_dir / "seeds"])
    assert result.errors == []
    return next(item for item in result.items if item.origin == ORIGINAL.as_posix())


def test_read_seeds_parses_original_seed_header(original_item: RawItem) -> None:
    assert original_item.title == (
        "Petro’s government relaxes position and strengthens cooperation with U.S. "
        "after Kristi Noem’s visit"
    )
    assert original_item.source == "Más Colombia"
    assert original_item.page_date == date(2025, 12, 24)
    assert original_item.event_date is not None
    assert date(2025, 3, 26) <= original_item.event_date <= date(2025, 3, 29)
    assert original_item.url is None


def test_read_seeds_strips_original_seed_boilerplate(original_item: RawItem) -> None:
    text = original_item.text
    assert text.startswith("Kristi Noem visited Colombia and met with Gustavo Petro")
    assert "biometric" in text
    assert "Petro travels to Panama and agrees to receive migrants" in _paragraphs(original_item)
    assert "You may read" not in text
    assert "You may also read" not in text
    assert "»" not in text and "Home " not in text
    assert "mujeres migrantes y movilidad global 3" not in text
    assert "mascolombia.com" not in text and "http" not in text
    assert ", Más Colombia" not in text
    assert "Petro’s government relaxes position" not in text
    assert not [p for p in _paragraphs(original_item) if LEFTOVER_BOILERPLATE.search(p)]


# --- shipped seeds against tests/data/seed_expectations.json -------------------------------


@functools.cache
def _expectations() -> dict[str, dict[str, Any]]:
    """The hand-checked facts about every shipped seed (part of the repository: a missing
    file is a failure, not a skip)."""
    data: dict[str, dict[str, Any]] = json.loads(EXPECTATIONS.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def shipped() -> SeedReadResult:
    return read_seeds([SHIPPED])


def test_read_seeds_reads_every_shipped_seed_without_errors(shipped: SeedReadResult) -> None:
    expected = _expectations()
    assert shipped.errors == []
    assert sorted(Path(item.origin).name for item in shipped.items) == sorted(expected)


@pytest.mark.parametrize("name", sorted(_expectations()))
def test_read_seeds_matches_expectations_for_shipped_seed(
    name: str, shipped: SeedReadResult
) -> None:
    want = _expectations()[name]
    by_origin = {item.origin: item for item in shipped.items}
    assert f"seeds/{name}" in by_origin, dict(shipped.errors).get(str(SHIPPED / name), "missing")
    item = by_origin[f"seeds/{name}"]
    article = normalise_item(item, datetime(2030, 1, 1, tzinfo=UTC))
    assert item.title == want["title"]
    assert article.language == want["language"]
    assert item.page_date == date.fromisoformat(want["page_date"])
    assert item.event_date is not None, item.problems
    assert abs(item.event_date - date.fromisoformat(want["event_date"])) <= timedelta(days=3)
    assert " ".join(item.text.split()).startswith(" ".join(want["first_body_words"].split()))
    assert not [p for p in _paragraphs(item) if LEFTOVER_BOILERPLATE.search(p)]
    assert item.title not in _paragraphs(item)
    assert item.url is None


# --- other formats --------------------------------------------------------------------------


def test_read_seeds_reads_markdown_front_matter() -> None:
    item = _fixture("front_matter.md")
    assert (item.title, item.source, item.language) == (
        "Fiscalía extradites two commanders",
        "Eco Andino Wire Service",  # the declared source, not the title's "| Eco Andino"
        "es",
    )
    assert item.url == "https://ecoandino.example/extradition"
    assert item.page_date == date(2025, 5, 20)
    assert item.event_date == date(2025, 5, 14)  # May 30 is after the page date: a plan
    assert _paragraphs(item) == [
        "The extraditions were approved on May 14, 2025 after a hearing that lasted two days.",
        "Next steps",
        "Prosecutors expect a third request on May 30.",
    ]


def test_read_seeds_reads_markdown_heading_and_date_line() -> None:
    item = _fixture("heading.md")
    assert (item.title, item.source, item.url) == (
        "Ecuador and Colombia reopen border talks",
        "seeds",
        None,
    )
    assert (item.page_date, item.event_date) == (date(2025, 5, 2), date(2025, 4, 29))
    assert item.text == (
        "Delegations met in Ipiales on April 29 to discuss border crossings and shared patrols."
    )


def test_read_seeds_falls_back_to_txt_rules_for_plain_markdown(tmp_path: Path) -> None:
    text = "Plain headline | Site\n2025-03-05\n\nBody on March 4.\n"
    _write(tmp_path / "seeds", "plain.md", text)
    [item] = read_seeds([tmp_path / "seeds"]).items
    assert (item.title, item.source) == ("Plain headline", "Site")
    assert (item.page_date, item.event_date) == (date(2025, 3, 5), date(2025, 3, 4))


def test_read_seeds_reads_json_list_with_record_numbers() -> None:
    result = read_seeds([FIXTURES])
    first, second = (i for i in result.items if i.origin.startswith("seeds/records.json#"))
    assert first.origin == "seeds/records.json#1"
    assert (first.source, first.url) == ("Wire Desk", "https://wire.example/a")
    assert (first.language, first.page_date, first.event_date) == (
        "en",
        date(2025, 3, 5),
        date(2025, 3, 3),
    )
    assert _paragraphs(first) == [
        "Officials met on March 3, 2025 to weigh relief.",
        "A decision is due later.",
    ]
    assert second.origin == "seeds/records.json#2"
    assert (second.source, second.url, second.event_date) == ("seeds", None, date(2025, 3, 2))
    assert second.problems == ("url 'javascript:alert(1)' is not http(s); dropped",)


def test_read_seeds_reads_jsonl_with_site_suffix() -> None:
    result = read_seeds([FIXTURES])
    first, second = (i for i in result.items if i.origin.startswith("seeds/records.jsonl#"))
    assert (first.origin, first.title, first.source) == (
        "seeds/records.jsonl#1",
        "Coca survey released",
        "Field Notes",
    )
    assert (second.source, second.event_date) == ("Pacific Post", date(2025, 6, 12))


def test_a_declared_source_wins_over_the_title_suffix_in_every_format(tmp_path: Path) -> None:
    """QA 5 #3: ``title: X | Site A`` with ``source: Site B`` stored "Site A"; the declared
    source is what the analyst wrote down, the suffix only a guess from the page title. Without
    a declared source the suffix names it, and without either the source is "seeds"."""
    folder = tmp_path / "seeds"
    body = "Ministers met in Quito on March 3, 2025."
    _write(folder, "a.md", f"---\ntitle: Talks resume | Site A\nsource: Site B\n---\n{body}\n")
    _write(folder, "b.md", f"# Talks resume | Site A\n\n{body}\n")
    _write(folder, "c.md", f"# Talks resume\n\n{body}\n")
    records = [
        {"title": "Talks resume | Site A", "text": body, "source": "Site B"},
        {"title": "Talks resume | Site A", "text": body, "source": "  "},
        {"title": "Talks resume", "text": body},
    ]
    _write(folder, "d.json", json.dumps(records))
    _write(folder, "e.jsonl", json.dumps(records[0]) + "\n")
    result = read_seeds([folder])
    assert result.errors == []
    assert [(item.origin, item.title, item.source) for item in result.items] == [
        ("seeds/a.md", "Talks resume", "Site B"),
        ("seeds/b.md", "Talks resume", "Site A"),
        ("seeds/c.md", "Talks resume", "seeds"),
        ("seeds/d.json#1", "Talks resume", "Site B"),
        ("seeds/d.json#2", "Talks resume", "Site A"),
        ("seeds/d.json#3", "Talks resume", "seeds"),
        ("seeds/e.jsonl#1", "Talks resume", "Site B"),
    ]


def test_read_seeds_reports_json_record_without_text(tmp_path: Path) -> None:
    records = [{"title": "Good", "text": "Fine body."}, {"title": "No text"}]
    path = _write(tmp_path / "seeds", "two.json", json.dumps(records))
    result = read_seeds([tmp_path / "seeds"])
    assert [item.origin for item in result.items] == ["seeds/two.json#1"]
    assert result.items[0].problems[0] == "no published date; page date unknown"
    assert result.errors == [(f"{path}#2", 'missing "text": expected a non-empty string')]


def test_two_seed_folders_of_the_same_name_give_their_files_distinct_origins(
    tmp_path: Path,
) -> None:
    """QA 4 #2: an origin identifies a seed file (an edit updates its article by origin), so
    team-a/seeds and team-b/seeds must not both give seeds/report.txt."""
    folders = [tmp_path / "team-a" / "seeds", tmp_path / "team-b" / "seeds", tmp_path / "solo"]
    for number, folder in enumerate(folders):
        _write(folder, "report.txt", f"Report {number} | Site\n2025-03-05\n\nBody {number} on March 4.\n")
    origins = [item.origin for item in read_seeds(folders).items]
    assert origins == ["team-a/seeds/report.txt", "team-b/seeds/report.txt", "solo/report.txt"]
    assert [i.origin for i in read_seeds(folders[:1]).items] == ["seeds/report.txt"]


def test_a_declared_language_that_is_no_iso_code_is_noted_and_detected(tmp_path: Path) -> None:
    """A typo such as "sp" must not become a language of its own (outside the models' two)."""
    text = "La Casa Blanca decidió certificar a Colombia en la lucha contra las drogas este año."
    records = [
        {"title": "Certificación", "text": text, "language": "sp", "published": "2025-09-16"},
        {"title": "Certificación II", "text": text, "language": "es-CO"},
    ]
    _write(tmp_path / "seeds", "langs.json", json.dumps(records))
    typo, tagged = read_seeds([tmp_path / "seeds"]).items
    assert typo.language is None
    assert "language 'sp' is not an ISO 639-1 code such as en or es; detected" in typo.problems
    assert tagged.language == "es-CO" and not any("language" in p for p in tagged.problems)
    now = datetime(2025, 9, 17, tzinfo=UTC)
    assert [normalise_item(i, now).language for i in (typo, tagged)] == ["es", "es"]


def test_read_seeds_reports_json_list_entry_that_is_not_object(tmp_path: Path) -> None:
    path = _write(tmp_path / "seeds", "list.json", '[{"title": "T", "text": "Body."}, 7]')
    result = read_seeds([tmp_path / "seeds"])
    assert [item.origin for item in result.items] == ["seeds/list.json#1"]
    assert result.errors == [(f"{path}#2", "expected a JSON object, found int")]


def test_read_seeds_notes_unparsable_published_date(tmp_path: Path) -> None:
    record = {"title": "T", "text": "Met on March 3, 2025.", "published": "last Tuesday"}
    _write(tmp_path / "seeds", "one.jsonl", json.dumps(record) + "\n")
    [item] = read_seeds([tmp_path / "seeds"]).items
    assert item.page_date is None
    assert item.event_date == date(2025, 3, 3)
    assert item.problems == ("published 'last Tuesday' is not an ISO date; page date unknown",)


def test_read_seeds_reports_markdown_front_matter_errors(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    unclosed = _write(folder, "a.md", "---\ntitle: X\n\nBody.\n")
    bad_line = _write(folder, "b.md", "---\ntitle: X\nnot a pair\n---\nBody.\n")
    errors = dict(read_seeds([folder]).errors)
    assert "never closed" in errors[str(unclosed)]
    assert errors[f"{bad_line}:3"] == "front matter line 3 is 'not a pair': expected `key: value`"


# --- discovery, unreadable files, missing folders -------------------------------------------


def test_read_seeds_walks_recursively_in_sorted_order(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    for name in ("b.txt", "a.txt", "sub/c.txt", ".hidden.txt", ".git/d.txt", "notes.csv"):
        _write(folder, name, f"Headline {name}\nMarch 3, 2025\nBody of {name}.\n")
    result = read_seeds([folder])
    assert result.errors == []
    assert [item.origin for item in result.items] == [
        "seeds/a.txt",
        "seeds/b.txt",
        "seeds/sub/c.txt",
    ]


def test_read_seeds_reports_unreadable_files_and_ingests_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    good = "Good headline\nMarch 3, 2025\nGood body on March 2.\n"
    _write(folder, "good.txt", good)
    latin1 = "Título\nMarch 3, 2025\nPolítica.\n".encode("latin-1")
    paths = {
        "binary": _write(folder, "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        "latin1": _write(folder, "latin1.txt", latin1),
        "empty": _write(folder, "empty.txt", "  \n\n"),
        "headline": _write(folder, "headline_only.txt", "Only a headline | Site\nMarch 3, 2025\n"),
        "json": _write(folder, "bad.json", '{"title": "x",\n "text": }'),
    }
    lines = [json.dumps({"title": f"T{n}", "text": f"Body {n}."}) for n in (1, 2)]
    no_title = json.dumps({"text": "A body without a title."})
    _write(folder, "mixed.jsonl", f"{lines[0]}\n{{not json\n{lines[1]}\n\n{no_title}\n")
    result = read_seeds([folder])
    assert [item.origin for item in result.items] == [
        "seeds/good.txt",
        "seeds/mixed.jsonl#1",
        "seeds/mixed.jsonl#3",
    ]
    assert result.errors == [
        (f"{paths['json']}:2", "invalid JSON: Expecting value at line 2 column 10"),
        (str(paths["binary"]), "binary file (contains NUL bytes): expected UTF-8 text"),
        (str(paths["empty"]), "empty file: expected a headline on line 1"),
        (
            str(paths["headline"]),
            "no body text: expected paragraphs after the headline and date line",
        ),
        (
            f"{paths['latin1']}:1",
            "not UTF-8: byte 0xed on line 1 is invalid; re-save the file as UTF-8",
        ),
        (
            f"{folder / 'mixed.jsonl'}:2",
            "invalid JSON: Expecting property name enclosed in double quotes at column 2; "
            "expected one object per line",
        ),
        (f"{folder / 'mixed.jsonl'}:5", 'missing "title": expected a non-empty string'),
    ]


def test_read_seeds_reads_crlf_file_with_bom(tmp_path: Path) -> None:
    text = "\ufeffHeadline | Site\r\n2025-03-05\r\n\r\nFirst paragraph.\r\nSecond one.\r\n"
    _write(tmp_path / "seeds", "crlf.txt", text.encode("utf-8"))
    [item] = read_seeds([tmp_path / "seeds"]).items
    assert (item.title, item.page_date) == ("Headline", date(2025, 3, 5))
    assert item.text == "First paragraph.\n\nSecond one."


def test_read_seeds_logs_a_warning_per_skipped_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "seeds", "empty.txt", "")
    read_seeds([tmp_path / "seeds"])
    assert f"skipped seed {path}: empty file" in caplog.text


def test_read_seeds_reports_missing_folder_and_reads_others(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    (tmp_path / "seeds").mkdir()
    shutil.copy(FIXTURES / "heading.md", tmp_path / "seeds" / "h.md")
    result = read_seeds([missing, tmp_path / "seeds"])
    assert result.errors == [(str(missing), "seed folder not found: expected a directory of seeds")]
    assert [item.origin for item in result.items] == ["seeds/h.md"]


def test_read_seeds_returns_empty_result_for_empty_folder(tmp_path: Path) -> None:
    assert read_seeds([tmp_path]) == SeedReadResult(items=[], errors=[])


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_utf16_and_utf32_seeds_are_named_not_called_binary(
    tmp_path: Path, encoding: str, name: str
) -> None:
    folder = tmp_path / "seeds"
    text = "Título\nMarch 3, 2025\nPolítica el 2 de marzo.\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":  # what Notepad's "Unicode big endian" writes: BOM then text
        data = codecs.BOM_UTF16_BE + data
    path = _write(folder, "notepad.txt", data)
    result = read_seeds([folder])
    assert result.items == []
    assert result.errors == [(str(path), f"{name} text: re-save the file as UTF-8")]


def test_decode_utf8_counts_lines_from_where_the_bytes_start() -> None:
    with pytest.raises(TextEncodingError) as caught:
        decode_utf8(b"ok\n\xff\n", first_line=7)
    assert caught.value.line == 8
    assert "byte 0xff on line 8 is invalid" in caught.value.reason
    assert decode_utf8("\ufeffTítulo".encode()) == "Título"

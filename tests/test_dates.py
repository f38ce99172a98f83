"""Page date lines and event dates read from English and Spanish news text."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.dates import extract_event_date, parse_date_line, parse_iso_date

PAGE = date(2025, 12, 24)


@pytest.mark.parametrize(
    "line",
    [
        "Wednesday, December 24, 2025",
        "December 24, 2025",
        "Dec. 24, 2025",
        "24 December 2025",
        "miércoles, 24 de diciembre de 2025",
        "Miércoles 24 de diciembre de 2025",
        "24 de diciembre, 2025",
        "24/12/2025",
        "12/24/2025",
        "24.12.2025",
        "2025-12-24",
        "2025-12-24T08:15:00-05:00",
        "December 24, 2025 10:30 a.m.",
        "Published: December 24, 2025",
        "\u00a0Wednesday,\u00a0December 24, 2025 ",
        # QA 5 #13: the natural label forms, not only "Label:".
        "Publicado el 24 de diciembre de 2025",
        "Actualizado el 24 de diciembre de 2025",
        "Actualizado el miércoles, 24 de diciembre de 2025 - 10:32 a. m.",
        "Publicada el 24 de diciembre de 2025",
        "PUBLICADO EL 24 DE DICIEMBRE DE 2025",
        "Última actualización: 24 de diciembre de 2025",
        "Published on December 24, 2025",
        "Updated on Wednesday, Dec. 24, 2025 10:32 a.m. ET",
        "Last updated: December 24, 2025",
        "Posted on 24/12/2025",
        # QA 6 #1: a clock time after "at" / "a las".
        "Published on December 24, 2025 at 10:32 AM",
        "Updated Dec. 24, 2025 at 10:32 a.m. ET",
        "December 24, 2025 at 10:32 AM",
        "Publicado el 24 de diciembre de 2025 a las 10:32 a. m.",
    ],
)
def test_parse_date_line_reads_en_and_es_forms(line: str) -> None:
    assert parse_date_line(line) == date(2025, 12, 24)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "March 2025",
        "The minister spoke on December 24, 2025 in Bogotá.",
        "Home » International » Petro meets Noem",
        "31/02/2025",
        "Smarch 24, 2025",
        "24 de diciembrea de 2025",
        "Publicado el martes",
        "Published on the ministry's website",
        "Actualizado el informe del 24 de diciembre de 2025",
        "December 24, 2025 at the embassy",
    ],
)
def test_parse_date_line_returns_none_when_line_is_not_only_a_date(line: str) -> None:
    assert parse_date_line(line) is None


def test_parse_iso_date_reads_date_and_datetime() -> None:
    assert parse_iso_date("2025-03-27") == date(2025, 3, 27)
    assert parse_iso_date("2025-03-27T23:10:00Z") == date(2025, 3, 27)
    assert parse_iso_date("27 March 2025") is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("On March 27, Noem arrived in Bogotá.", date(2025, 3, 27)),
        ("Petro visited Panama from March 28-29, 2025.", date(2025, 3, 29)),
        ("Petro visited Panama from March 28–29, 2025.", date(2025, 3, 29)),
        ("Talks were held on March 28 and 29, 2025, in Panama.", date(2025, 3, 29)),
        ("The memo was signed Mar. 27, 2025 in Bogotá.", date(2025, 3, 27)),
        ("The memo was signed Sept. 3, 2024.", date(2024, 9, 3)),
        ("The report came out on 27 March 2025.", date(2025, 3, 27)),
        ("The hearing is set for the 4th of July 2025.", date(2025, 7, 4)),
        ("El acuerdo se firmó el 26 de enero de 2025.", date(2025, 1, 26)),
        ("El acuerdo se firmó el domingo 26 de enero.", date(2025, 1, 26)),
        ("Las reuniones fueron el 28 y 29 de marzo.", date(2025, 3, 29)),
        ("La cumbre se celebró del 28 al 30 de marzo.", date(2025, 3, 30)),
        ("La sesión del 5 de Mayo de 2025 terminó tarde.", date(2025, 5, 5)),
        ("The filing is dated 2025-03-27.", date(2025, 3, 27)),
        ("El decreto del 27/03/2025 entró en vigor.", date(2025, 3, 27)),
    ],
)
def test_extract_event_date_reads_en_and_es_forms(body: str, expected: date) -> None:
    assert extract_event_date(body, PAGE) == expected


def test_extract_event_date_returns_latest_date_not_after_page_date() -> None:
    body = "The law passed on January 5, 2025. It took effect on February 1, 2025."
    assert extract_event_date(body, PAGE) == date(2025, 2, 1)


def test_extract_event_date_ignores_dates_after_page_date() -> None:
    body = "Talks began on March 3, 2025. A vote is planned for June 30, 2025."
    assert extract_event_date(body, date(2025, 4, 1)) == date(2025, 3, 3)


def test_extract_event_date_infers_year_from_preceding_sentence() -> None:
    body = "Noem toured the region in March 2023. On March 3, the minister resigned."
    assert extract_event_date(body, PAGE) == date(2023, 3, 3)


def test_extract_event_date_infers_year_from_same_sentence() -> None:
    body = "After the talks of February 27, 2024 stalled, the envoys met again on March 3."
    assert extract_event_date(body, PAGE) == date(2024, 3, 3)


def test_extract_event_date_infers_year_from_spanish_month_and_year() -> None:
    body = "La gira fue en marzo de 2024. El jueves 27 de marzo llegó a Bogotá."
    assert extract_event_date(body, PAGE) == date(2024, 3, 27)


@pytest.mark.parametrize(
    "body",
    [
        "The determination for fiscal year 2025 was signed in a memo dated Sept. 15.",
        "El informe del viernes 18 de octubre situó la coca al cierre de 2023 en máximos.",
        "The first decertification since the 1990s was dated Monday, Sept. 15.",
    ],
)
def test_extract_event_date_ignores_bare_year_when_inferring(body: str) -> None:
    found = extract_event_date(body, date(2025, 10, 20))
    assert found is not None and found.year == 2025


def test_extract_event_date_ignores_context_year_that_would_be_future() -> None:
    body = "A vote is due on March 30, 2026. The ministers met on March 2."
    assert extract_event_date(body, date(2025, 4, 1)) == date(2025, 3, 2)


def test_extract_event_date_uses_previous_year_when_current_would_be_future() -> None:
    body = "On December 20, the ministers met in Quito."
    assert extract_event_date(body, date(2025, 2, 10)) == date(2024, 12, 20)


def test_extract_event_date_ignores_counts_that_look_like_years() -> None:
    body = "Some 2000 soldiers were deployed. On December 20, the ministers met."
    assert extract_event_date(body, date(2025, 2, 10)) == date(2024, 12, 20)


def test_extract_event_date_skips_yearless_date_when_page_date_unknown() -> None:
    assert extract_event_date("On March 27, Noem arrived.", None) is None
    assert extract_event_date("On March 27, 2025, Noem arrived.", None) == date(2025, 3, 27)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "Noem toured Latin America in March 2025.",
        "The 10% increase in 2023 alarmed officials.",
        "Officials may 5 times have said so.",
        "The vote was February 30, 2025, a date that does not exist.",
        "More than 1,700 deportations and 1,000 arrests were reported.",
    ],
)
def test_extract_event_date_returns_none_when_no_day_precision_date(body: str) -> None:
    assert extract_event_date(body, PAGE) is None


def test_extract_event_date_does_not_read_count_after_and_as_day() -> None:
    body = "On March 5 and 30 soldiers were sent home."
    assert extract_event_date(body, PAGE) == date(2025, 3, 5)


def test_extract_event_date_reads_numeric_month_first_for_english() -> None:
    assert extract_event_date("Signed 03/04/2025.", PAGE, "en") == date(2025, 3, 4)
    assert extract_event_date("Firmado el 03/04/2025.", PAGE, "es") == date(2025, 4, 3)


def test_extract_event_date_finds_march_visit_in_original_seed(shared_dir: Path) -> None:
    text = (shared_dir / "seeds" / "000_be50ea76d524fca9.txt").read_text(encoding="utf-8")
    body = text.split("\n", 2)[2]  # everything after the headline and page date lines
    found = extract_event_date(body, PAGE, "en")
    assert found is not None
    assert date(2025, 3, 26) <= found <= date(2025, 3, 29)

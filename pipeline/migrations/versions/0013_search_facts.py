"""SQLite: each article's date, source, language and current scores beside its full-text id.

A search over the whole store (a word in a quarter of a million articles) summed every hit by
looking it up five times: its stable id, its article (date, source, language) through the sorted
``IN`` list, and three current scores, each a seek keyed by a random string. About 3 us a hit:
1.1-1.5 s for the overview of 300,000 hits on two cores, over the dashboard's 1 s budget. With
the same facts in ``article_search_ids``, whose INTEGER PRIMARY KEY is the FTS5 rowid, each hit
is one seek in rowid order, the order FTS5 returns them: by hand on the 1,000,000-article bench
store, one thread, 300,000 hits, 1.1-1.7 s -> 0.43-0.78 s (docs/benchmarks.md, "Searched
overview from the full-text ids").

Signals are configuration, so the scores sit in eight generic columns ``score_0`` .. ``score_7``;
``search_score_slots`` says which signal owns which. A signal gets the next free slot the first
time one of its scores is stored; a read needing a signal without one (a ninth signal) takes the
former path, which gives the same numbers. Triggers keep the copies in step inside the writer's
own transaction (the articles' insert and update, every current-score insert, update and delete),
so no write path needs to know about them.

Upgrading fills the columns from the stored articles and scores; downgrading drops them (derived
data only). PostgreSQL is untouched: its searched reads are planned from its own statistics.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SLOTS = 8
_SCORES = [f"score_{k}" for k in range(SLOTS)]
_SET_SLOT = ",\n".join(
    f"{c} = CASE m.slot WHEN {k} THEN NEW.value ELSE {c} END" for k, c in enumerate(_SCORES)
)
_CLEAR_SLOT = ",\n".join(
    f"{c} = CASE m.slot WHEN {k} THEN NULL ELSE {c} END" for k, c in enumerate(_SCORES)
)
_CLAIM_SLOT = f"""INSERT INTO search_score_slots (signal, slot)
        SELECT NEW.signal, (SELECT count(*) FROM search_score_slots)
        WHERE (SELECT count(*) FROM search_score_slots) < {SLOTS}"""
_STORE_SCORE = f"""UPDATE article_search_ids SET {_SET_SLOT}
        FROM search_score_slots AS m
        WHERE m.signal = NEW.signal AND article_search_ids.article_id = NEW.article_id"""
_FACT_TRIGGERS = (
    "search_facts_article",
    "search_facts_slot_claim",
    "search_facts_score_insert",
    "search_facts_score_update",
    "search_facts_score_delete",
)
_INSERT_0012 = """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (article_id) VALUES (NEW.article_id);
        INSERT INTO article_search_pending (search_id)
            SELECT search_id FROM article_search_ids WHERE article_id = NEW.article_id;
    END"""

_UP = (
    *(
        f"ALTER TABLE article_search_ids ADD COLUMN {c}"
        for c in ("event_date DATE", "source VARCHAR(200)", "language VARCHAR(8)")
    ),
    *(f"ALTER TABLE article_search_ids ADD COLUMN {c} FLOAT" for c in _SCORES),
    f"""CREATE TABLE search_score_slots (
        signal VARCHAR(40) NOT NULL PRIMARY KEY,
        slot INTEGER NOT NULL UNIQUE CHECK (slot >= 0 AND slot < {SLOTS})
    )""",
    """UPDATE article_search_ids SET (event_date, source, language) =
        (SELECT a.event_date, a.source, a.language FROM articles AS a
         WHERE a.article_id = article_search_ids.article_id)""",
    f"""INSERT INTO search_score_slots (signal, slot)
        SELECT signal, row_number() OVER (ORDER BY signal) - 1
        FROM (SELECT DISTINCT signal FROM current_scores) ORDER BY signal LIMIT {SLOTS}""",
    "DROP TRIGGER article_search_insert",
    """CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
        INSERT INTO article_search_ids (article_id, event_date, source, language)
            VALUES (NEW.article_id, NEW.event_date, NEW.source, NEW.language);
        INSERT INTO article_search_pending (search_id)
            SELECT search_id FROM article_search_ids WHERE article_id = NEW.article_id;
    END""",
    # both ids: article_search_update may move the row to the new id before or after this runs
    """CREATE TRIGGER search_facts_article AFTER UPDATE OF event_date, source, language ON articles
    WHEN OLD.event_date IS NOT NEW.event_date OR OLD.source IS NOT NEW.source
        OR OLD.language IS NOT NEW.language
    BEGIN
        UPDATE article_search_ids
            SET event_date = NEW.event_date, source = NEW.source, language = NEW.language
            WHERE article_id IN (OLD.article_id, NEW.article_id);
    END""",
    # The claim runs only for a signal without a slot (a WHEN costs less than a statement) and
    # stores the score itself: whichever of the two insert triggers SQLite fires first, the copy
    # is made (storing twice writes the same value).
    f"""CREATE TRIGGER search_facts_slot_claim AFTER INSERT ON current_scores
    WHEN NOT EXISTS (SELECT 1 FROM search_score_slots WHERE signal = NEW.signal)
    BEGIN
        {_CLAIM_SLOT};
        {_STORE_SCORE};
    END""",
    f"""CREATE TRIGGER search_facts_score_insert AFTER INSERT ON current_scores BEGIN
        {_STORE_SCORE};
    END""",
    # an updated score's signal already had its chance at a slot when it was inserted
    f"""CREATE TRIGGER search_facts_score_update AFTER UPDATE OF value ON current_scores
    WHEN OLD.value IS NOT NEW.value
    BEGIN
        {_STORE_SCORE};
    END""",
    f"""CREATE TRIGGER search_facts_score_delete AFTER DELETE ON current_scores BEGIN
        UPDATE article_search_ids SET {_CLEAR_SLOT}
        FROM search_score_slots AS m
        WHERE m.signal = OLD.signal AND article_search_ids.article_id = OLD.article_id;
    END""",
)
_DOWN = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _FACT_TRIGGERS),
    "DROP TRIGGER article_search_insert",
    _INSERT_0012,
    "DROP TABLE search_score_slots",
    *(
        f"ALTER TABLE article_search_ids DROP COLUMN {c}"
        for c in ("event_date", "source", "language", *_SCORES)
    ),
)


def upgrade() -> None:
    """Add the columns and the triggers, filling the columns from the stored rows."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _UP:
        op.execute(statement)
    slots = op.get_bind().exec_driver_sql("SELECT signal, slot FROM search_score_slots").all()
    for signal, slot in slots:  # one pass per signal; at most SLOTS
        op.get_bind().exec_driver_sql(
            f"""UPDATE article_search_ids SET score_{int(slot)} =
                (SELECT c.value FROM current_scores AS c
                 WHERE c.article_id = article_search_ids.article_id AND c.signal = ?)""",
            (signal,),
        )


def downgrade() -> None:
    """Drop the copies and restore 0012's insert trigger."""
    if op.get_bind().dialect.name == "sqlite":
        for statement in _DOWN:
            op.execute(statement)

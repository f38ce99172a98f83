"""Model artefacts: safe loading with clear errors, size and speed, and the exact fast transform."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FunctionTransformer, Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline.errors import ModelError
from pipeline.examples import load_examples
from pipeline.fastpath import FastFeatures, is_supported
from pipeline.features import MassScaler, build_features, fold_text, split_sentences
from pipeline.model import TRUSTED_TYPES, SignalModel, linear_head, load_model, save_model

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = ("decertification_risk", "cooperation_tone", "relevance")
ODD_TEXTS = [
    "",
    "   ",
    "1234 5678 2025",
    "Ελληνικά ΣΟΦΟΣ λόγος.",
    "日本語のテキスト",
    "naïve café – “quoted” … end. Next!\n\nNew para",
    "x" * 3000,
    "DESCERTIFICACIÓN: ¿Qué pasará? Ñandú, pingüino, façade, Œuvre.",
    "zzqx unseenwordz qqq. Another unseen-token here!",
    "Brand™ ﬁnance ½ x²y e\u0301cole İstanbul. cafe\u0301 z",
]


@pytest.fixture(scope="module")
def documents() -> list[str]:
    return [e.document for e in load_examples([ROOT / "models" / "data"])]


def _tiny_model(
    folder: Path, documents: list[str], version: str = "tiny-20260101-abcdef12"
) -> SignalModel:
    features = build_features(max_features=500, chars=False).fit(documents[:200])
    head = LogisticRegression(max_iter=500).fit(
        features.transform(documents[:200]), [i % 2 for i in range(200)]
    )
    card = {
        "signal": "tiny",
        "kind": "risk",
        "version": version,
        "sklearn_version": __import__("sklearn").__version__,
    }
    model = SignalModel(
        "tiny", "risk", version, Pipeline([("features", features), ("head", head)]), card
    )
    save_model(model, folder)
    return model


def test_saved_model_loads_back_and_predicts_the_same(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    loaded = load_model(tmp_path, "tiny")
    assert loaded.version == model.version
    np.testing.assert_allclose(
        loaded.pipeline.predict_proba(documents[:20]), model.pipeline.predict_proba(documents[:20])
    )
    assert (tmp_path / "CURRENT").read_text(encoding="utf-8").strip() == model.version
    assert oct((tmp_path / f"{model.version}.skops").stat().st_mode & 0o777) == "0o644"


def test_missing_current_pointer_says_how_to_retrain(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no trained model for signal 'tiny'.*policy-risk train"):
        load_model(tmp_path, "tiny")


def test_missing_model_file_says_how_to_retrain(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    (tmp_path / f"{model.version}.skops").unlink()
    with pytest.raises(ModelError, match=r"model file for tiny is missing.*policy-risk train"):
        load_model(tmp_path, "tiny")


def test_truncated_model_file_is_reported_as_corrupt(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    path = tmp_path / f"{model.version}.skops"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelError, match=r"model file is corrupt.*policy-risk train"):
        load_model(tmp_path, "tiny")


def test_garbage_model_file_is_reported_as_corrupt(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    (tmp_path / f"{model.version}.skops").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelError, match="model file is corrupt"):
        load_model(tmp_path, "tiny")


def test_unexpected_type_in_model_file_is_refused(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    evil = Pipeline([("features", FunctionTransformer(eval)), ("head", LogisticRegression())])
    (tmp_path / f"{model.version}.skops").write_bytes(sio.dumps(evil))
    with pytest.raises(ModelError, match=r"refusing to load.*builtins\.eval"):
        load_model(tmp_path, "tiny")


def test_card_from_another_sklearn_version_is_refused(tmp_path: Path, documents: list[str]) -> None:
    model = _tiny_model(tmp_path, documents)
    card_path = tmp_path / f"{model.version}.card.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["sklearn_version"] = "0.24.2"
    card_path.write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelError, match=r"trained with scikit-learn 0\.24\.2.*policy-risk train"):
        load_model(tmp_path, "tiny")


def test_pointer_cannot_escape_the_folder(tmp_path: Path) -> None:
    (tmp_path / "CURRENT").write_text("../../etc/passwd\n", encoding="utf-8")
    with pytest.raises(ModelError, match="expected a model version name"):
        load_model(tmp_path, "tiny")


def test_allowlist_is_exact_and_holds_no_builtins() -> None:
    assert all(not t.startswith("builtins.") for t in TRUSTED_TYPES)
    assert TRUSTED_TYPES == {
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "pipeline.features.MassScaler",
        "pipeline.features.fold_text",
        "pipeline.features.token_char_grams",
    }


@pytest.mark.parametrize("signal", SIGNALS)
def test_shipped_artefact_is_small_fast_and_takes_the_fast_path(signal: str) -> None:
    folder = ROOT / "models" / signal
    started = time.perf_counter()
    model = load_model(folder, signal)
    elapsed = time.perf_counter() - started
    assert (folder / f"{model.version}.skops").stat().st_size < 25 * 1024 * 1024
    assert elapsed < 3.0  # < 1 s on an idle machine (docs/model.md); slack for a loaded CI box
    assert is_supported(model.vectoriser)
    assert linear_head(model) is not None


# The one custom estimator we ship. check_array_api_input needs array-api libraries we do not
# install; left in, it would be reported as skipped, and CI fails on any skip.
_MARK = parametrize_with_checks([MassScaler(), MassScaler(scale=0.5)])
_CHECKS = [
    (estimator, check)
    for estimator, check in _MARK.args[1]
    if getattr(check, "func", check).__name__ != "check_array_api_input"
]


@pytest.mark.parametrize(("estimator", "check"), _CHECKS, ids=_MARK.kwargs.get("ids"))
def test_mass_scaler_passes_sklearn_checks(estimator: object, check: Any) -> None:
    check(estimator)


def test_mass_scaler_keeps_long_and_short_documents_on_one_scale() -> None:
    counts = sp.csr_matrix(np.array([[1.0, 3.0, 0.0], [4.0, 12.0, 0.0], [0.0, 0.0, 0.0]]))
    scaled = MassScaler(scale=2.0).fit(counts).transform(counts).toarray()
    np.testing.assert_allclose(scaled[0], [1.0, 3.0, 0.0])
    np.testing.assert_allclose(scaled[1], [2.0, 6.0, 0.0])
    np.testing.assert_allclose(scaled[2], [0.0, 0.0, 0.0])


@pytest.mark.parametrize("chars", [False, True])
def test_fast_transform_equals_sklearn_transform(documents: list[str], chars: bool) -> None:
    features = build_features(max_features=5000, chars=chars).fit(documents[:600])
    fast = FastFeatures(features)
    texts = documents[600:800] + ODD_TEXTS
    expected = sp.csr_matrix(features.transform(texts))
    # the second pass runs with a token table grown by the first
    for got in (fast.transform(texts), fast.transform(texts)):
        assert got.shape == expected.shape
        assert abs(got - expected).max() < 1e-5
    words = fast.encode(texts, sentences=True).words
    assert abs(words - expected[:, : fast.n_words]).max() < 1e-5


def test_sentence_shares_add_up_to_the_document(documents: list[str]) -> None:
    """Explanations attribute exactly: the sentences' parts sum to the document's score."""
    features = build_features(max_features=5000).fit(documents[:600])
    fast = FastFeatures(features)
    texts = documents[600:700] + ODD_TEXTS
    encoded = fast.encode(texts, sentences=True)
    weights = np.random.default_rng(0).normal(size=(1, fast.n_features))
    whole = fast.decisions(encoded, "w", weights, np.zeros(1))[:, 0]
    np.testing.assert_allclose(
        whole, sp.csr_matrix(features.transform(texts)) @ weights[0], atol=1e-5
    )
    push = fast.char_push("w", weights[:, fast.n_words :].T)[:, 0]
    assert encoded.first is not None and encoded.sentence_presence is not None
    assert encoded.sentence_words is not None
    parts = encoded.sentence_words @ weights[0, : fast.n_words] + encoded.sentence_presence @ push
    for doc, (start, end) in enumerate(zip(encoded.first[:-1], encoded.first[1:], strict=True)):
        assert parts[start:end].sum() == pytest.approx(whole[doc], abs=1e-5)


def test_fold_and_sentences() -> None:
    assert fold_text("Descertificación ÑANDÚ") == "descertificacion nandu"
    assert split_sentences("Title\nOne. Two! Three? Four… Five") == [
        "Title",
        "One.",
        "Two!",
        "Three?",
        "Four…",
        "Five",
    ]
    assert split_sentences("\n  A.  B.\n\nC") == ["A.", "B.", "C"]

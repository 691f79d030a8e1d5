"""The embedded NLU: Rasa's parse shape, the complaint category, entities as residents write."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from bot.nlu.data import load_directory, parse_example
from bot.nlu.engine import EmbeddedNLU


def test_annotations_become_entity_spans_on_the_plain_text():
    ex = parse_example(
        "rác ở [kiệt 12](alley) [Nguyễn Huệ](street) gọi [0905 123 456](phone)",
        "complaint/environment",
    )
    assert ex.text == "rác ở kiệt 12 Nguyễn Huệ gọi 0905 123 456"
    assert (ex.intent, ex.category) == ("complaint", "environment")
    assert [(ex.text[e.start : e.end], e.entity) for e in ex.entities] == [
        ("kiệt 12", "alley"),
        ("Nguyễn Huệ", "street"),
        ("0905 123 456", "phone"),
    ]


def test_training_data_meets_the_floor():
    data = load_directory()
    assert len(data.examples) >= 1500
    per_intent = {i: sum(e.intent == i for e in data.examples) for i in data.intents}
    per_category = {c: sum(e.category == c for e in data.examples) for c in data.categories}
    assert min(per_intent.values()) >= 60 and len(per_category) == 12
    assert min(per_category.values()) >= 50
    assert {"ward", "street"} <= set(data.lookups)


def test_parse_has_rasas_shape(nlu: EmbeddedNLU):
    result = nlu.parse("karaoke hàng xóm hát tới 1 giờ sáng ở kiệt 7 Bà Triệu")
    assert set(result) >= {"text", "intent", "entities", "intent_ranking", "category"}
    assert result["intent"]["name"] == "complaint" and result["category"] == "noise"
    assert result["response_selector"]["complaint"]["response"]["intent_response_key"] == (
        "complaint/noise"
    )
    ranking = result["intent_ranking"]
    assert ranking[0]["name"] == "complaint"
    assert ranking == sorted(ranking, key=lambda r: -r["confidence"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("alo tổng đài ơi", "greeting"),
        ("cho e gap tong dai vien voi", "request_agent"),
        ("cháy nhà ở kiệt 3 Lê Lợi, có người mắc kẹt", "emergency"),
        ("toi muon dang ky nhan ho tro 1 trieu", "support_registration"),
        ("mã HUE-261126-0042 giải quyết tới đâu rồi ạ", "status_query"),
        ("cảm ơn tổng đài nhiều", "goodbye"),
        ("mất nước từ sáng tới chừ chưa có lại", "complaint"),
    ],
)
def test_intents_as_residents_write_them(nlu, text, intent):
    assert nlu.parse(text)["intent"]["name"] == intent


def test_category_is_null_unless_complaint(nlu):
    assert nlu.parse("xin chào")["category"] is None
    assert nlu.parse("đường Hùng Vương có ổ gà rất to")["category"] == "roads_infrastructure"


def test_low_confidence_and_empty_text_fall_back(nlu):
    strict = EmbeddedNLU(nlu.model, nlu.extractor, threshold=0.99)
    assert strict.parse("ờ")["intent"]["name"] == "nlu_fallback"
    assert nlu.parse("")["intent"]["name"] == "nlu_fallback"


def _entities(nlu, text):
    return {(e["entity"], e["value"]) for e in nlu.parse(text)["entities"]}


def test_numbers_as_written_and_as_spoken(nlu):
    found = _entities(nlu, "sđt 0905.123.456, CCCD 046 085 001 234, mã 2611260042")
    assert ("phone", "+84905123456") in found and ("cccd", "046085001234") in found
    assert ("case_code", "HUE-261126-0042") in found
    spoken = _entities(nlu, "số của tôi là không chín không năm một hai ba bốn năm sáu")
    assert ("phone", "+84905123456") in spoken


def test_dates_amounts_alleys_people(nlu):
    found = _entities(
        nlu,
        "Tôi tên là Nguyễn Văn An, sinh ngày 04/03/1985, nhận 1 triệu, ở kiệt 45/2 Phan Đình Phùng",
    )
    assert ("person", "Nguyễn Văn An") in found
    assert ("date", "1985-03-04") in found
    assert ("amount", 1_000_000) in found
    assert ("alley", "kiệt 45/2") in found
    assert ("street", "Phan Đình Phùng") in found


def test_places_without_diacritics_and_in_nfd_keep_offsets(nlu):
    found = _entities(nlu, "rac o kiet 5 chi lang phuong phu hau")
    assert ("ward", "Phú Hậu") in found and ("street", "Chi Lăng") in found
    nfd = unicodedata.normalize("NFD", "kiệt 5 phường Vỹ Dạ")
    (alley, ward) = sorted(nlu.parse(nfd)["entities"], key=lambda e: e["start"])
    assert nfd[ward["start"] : ward["end"]] == unicodedata.normalize("NFD", "Vỹ Dạ")
    assert ward["value"] == "Vỹ Dạ" and alley["value"] == "kiệt 5"


def test_invalid_numbers_are_not_entities(nlu):
    found = _entities(nlu, "số 0123456789 và 999085001234")
    assert not any(kind in {"phone", "cccd"} for kind, _ in found)


def test_ten_thousand_characters_parse(nlu):
    result = nlu.parse("rác " * 2500)
    assert result["intent"]["name"] in {"complaint", "nlu_fallback"}


def _load_in_process(var_dir: str) -> str:
    from bot.nlu.engine import EmbeddedNLU as Engine

    return str(Engine.load_or_train(Path(var_dir)).parse("rác ngập kiệt 5")["intent"]["name"])


def test_worker_processes_starting_together_share_one_training(tmp_path):
    """Several Celery workers start at once on an empty var directory: one trains, the others
    wait and load the same model; none reads a half-written file."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        intents = list(pool.map(_load_in_process, [str(tmp_path)] * 3))
    assert len(set(intents)) == 1
    assert [p.name for p in (tmp_path / "models").glob("*.tmp.npz")] == []

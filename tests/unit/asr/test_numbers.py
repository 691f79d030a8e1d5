"""Spoken Vietnamese numbers to figures: digit strings, cardinals, dates and running text."""

from __future__ import annotations

import datetime
import random
import unicodedata

import pytest

from asr.numbers import cardinal, digits, normalise, spoken_date

DIGITS = [
    # Phone numbers, digit by digit.
    ("không chín không năm một hai ba bốn năm sáu", "0905123456"),
    ("không ba năm tám chín sáu bảy bốn hai một", "0358967421"),
    ("không tám bẩy bảy sáu năm bốn ba hai một", "0877654321"),
    ("không chín một hai ba bốn năm sáu bảy tám", "0912345678"),
    ("không hai ba bốn ba tám hai hai ba bốn năm", "02343822345"),
    # Unaccented, as typed or from an accentless recogniser.
    ("khong chin khong nam mot hai ba bon nam sau", "0905123456"),
    ("khong chin tam bay sau nam bon ba hai mot", "0987654321"),
    ("KHONG CHIN KHONG NAM", "0905"),
    # Mixed: unaccented spellings that are no other word still count in accented text.
    ("khong chín khong năm", "0905"),
    # Words around the number are ignored.
    ("số của tôi là không chín không năm một hai ba bốn năm sáu", "0905123456"),
    ("dạ số điện thoại không chín không năm một hai ba bốn năm sáu ạ", "0905123456"),
    # Grouped readings, commas and pauses.
    ("không chín không, năm một hai, ba bốn năm sáu", "0905123456"),
    ("không chín không. năm một hai. ba bốn năm sáu", "0905123456"),
    ("không chín không à năm một hai ờ ba bốn năm sáu", "0905123456"),
    ("không chín mươi lăm một hai ba bốn năm sáu", "095123456"),
    ("không chín không, năm mươi mốt, hai ba, bốn năm sáu", "0905123456"),
    ("không chín không năm trăm mười hai ba bốn năm sáu", "0905123456"),
    ("không chín không, năm trăm mười hai, ba bốn, năm sáu", "0905123456"),
    ("không chín không, một trăm linh năm, ba bốn năm sáu", "0901053456"),
    ("không chín mười hai ba bốn", "091234"),
    ("không chín hai mươi, ba mươi, bốn mươi", "09203040"),
    ("không chín hăm mốt băm hai", "092132"),
    # CCCD: twelve digits.
    ("không bốn sáu không chín năm không một hai ba bốn năm", "046095012345"),
    ("không không một hai không không không một hai ba bốn năm", "001200012345"),
    # Case codes and menu choices.
    ("hai năm không một một lăm", "250115"),
    ("một", "1"),
    ("tôi chọn số hai", "2"),
    ("số không", "0"),
    ("phím chín", "9"),
    ("mười", "10"),
    ("hai mươi mốt", "21"),
    ("hai mốt", "21"),
    # Self-correction and unrelated numbers: the longest, the later of equal length.
    ("một chút, không chín không năm một hai ba bốn năm sáu", "0905123456"),
    ("không chín một, à nhầm, không chín hai", "092"),
    ("tôi ở kiệt năm, số không chín không năm một hai ba bốn năm sáu", "0905123456"),
    # Figures typed in count too.
    ("0905 một hai ba bốn năm sáu", "0905123456"),
    ("0905.123.456", "0905123456"),
    # Decomposed (NFD) input.
    (unicodedata.normalize("NFD", "không chín không năm"), "0905"),
]

NO_DIGITS = [
    "",
    "   ",
    "xin chào",
    "tôi không biết",
    "không",
    "không, cảm ơn",
    "chị Linh ở Huế",
    "hàng nghìn người",
    "ngày mốt tôi đến",
    "từ sáng đến giờ",
    "ăn sau khi làm",
]

CARDINALS = [
    ("không", None),
    ("một", 1),
    ("năm", 5),
    ("mười", 10),
    ("mười một", 11),
    ("mười lăm", 15),
    ("mười năm", 15),
    ("mười bốn", 14),
    ("mười tư", 14),
    ("hai mươi", 20),
    ("hai mươi mốt", 21),
    ("hai mươi một", 21),
    ("hai mươi tư", 24),
    ("hai mươi bốn", 24),
    ("hai mươi lăm", 25),
    ("hai mươi nhăm", 25),
    ("ba mươi", 30),
    ("chín mươi chín", 99),
    ("bảy mươi bảy", 77),
    ("bẩy mươi bẩy", 77),
    ("hai mốt", 21),
    ("ba tư", 34),
    ("bốn lăm", 45),
    ("hăm hai", 22),
    ("hăm mốt", 21),
    ("băm sáu", 36),
    ("hai chục", 20),
    ("một trăm", 100),
    ("một trăm linh năm", 105),
    ("một trăm lẻ năm", 105),
    ("một trăm linh tư", 104),
    ("một trăm mười", 110),
    ("một trăm hai mươi ba", 123),
    ("hai trăm mốt", 210),
    ("một trăm hai", 120),
    ("trăm rưỡi", None),
    ("một trăm rưỡi", 150),
    ("chín trăm chín mươi chín", 999),
    ("một nghìn", 1000),
    ("một ngàn", 1000),
    ("một nghìn linh năm", 1005),
    ("một nghìn không trăm linh năm", 1005),
    ("một nghìn chín trăm tám mươi lăm", 1985),
    ("hai nghìn không trăm hai mươi tư", 2024),
    ("hai nghìn rưỡi", 2500),
    ("một nghìn mốt", 1100),
    ("mười nghìn", 10_000),
    ("mười lăm nghìn", 15_000),
    ("hai lăm nghìn", 25_000),
    ("hai chục nghìn", 20_000),
    ("một trăm nghìn", 100_000),
    ("ba trăm năm mươi nghìn", 350_000),
    ("năm trăm nghìn đồng", 500_000),
    ("một trăm linh năm nghìn", 105_000),
    ("một triệu", 1_000_000),
    ("một triệu hai", 1_200_000),
    ("một triệu tư", 1_400_000),
    ("một triệu rưỡi", 1_500_000),
    ("hai triệu rưỡi", 2_500_000),
    ("một triệu hai trăm nghìn", 1_200_000),
    ("một triệu không trăm năm mươi nghìn", 1_050_000),
    ("hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám", 2_345_678),
    ("một tỷ", 1_000_000_000),
    ("một tỉ", 1_000_000_000),
    ("hai tỷ rưỡi", 2_500_000_000),
    ("một nghìn tỷ", 10**12),
    ("ba tỷ hai trăm triệu", 3_200_000_000),
    ("mức phạt là hai triệu rưỡi đồng", 2_500_000),
    ("tôi năm mươi tuổi", 50),
    ("cháu ba tuổi", 3),
    ("tôi năm nay hai mươi lăm tuổi", 25),
    ("mỗi năm hai triệu", 2_000_000),
    ("hai mươi năm", 25),
    ("chị ba", None),
    # Unaccented.
    ("hai muoi mot", 21),
    ("muoi lam", 15),
    ("mot tram linh nam", 105),
    ("ba tram nam muoi nghin", 350_000),
    ("hai trieu ruoi", 2_500_000),
    ("mot ty", 1_000_000_000),
    # Not one cardinal.
    ("", None),
    ("xin chào", None),
    ("không chín không năm", None),
    ("một chín tám lăm", None),
    ("hai ba", None),
    ("hai triệu, ba triệu", None),
    ("mười rưỡi", None),
    ("một nghìn hai nghìn", None),
    ("hàng trăm", None),
    ("một mươi", None),
]

DATES = [
    ("ngày hai mươi mốt tháng ba năm hai nghìn không trăm linh năm", datetime.date(2005, 3, 21)),
    ("ngày mười tháng năm năm một chín chín tám", datetime.date(1998, 5, 10)),
    ("ngày một tháng năm năm năm", None),
    ("hai mốt tháng mười hai năm chín tám", datetime.date(1998, 12, 21)),
    ("mùng một tháng giêng năm hai không hai tư", datetime.date(2024, 1, 1)),
    ("mồng mười tháng chạp năm hai nghìn", datetime.date(2000, 12, 10)),
    ("ngày mười lăm tháng tư năm hai nghìn hai mươi ba", datetime.date(2023, 4, 15)),
    ("ngày ba mươi mốt tháng mười năm hai không hai hai", datetime.date(2022, 10, 31)),
    ("ngày ba mốt tháng mười hai năm không năm", datetime.date(2005, 12, 31)),
    ("ngày hai tháng mười một năm một nghìn chín trăm chín mươi", datetime.date(1990, 11, 2)),
    ("sinh ngày chín tháng hai năm chín mươi tám", datetime.date(1998, 2, 9)),
    ("tôi sinh ngày mười tám tháng sáu, năm một chín tám lăm", datetime.date(1985, 6, 18)),
    ("ngay hai muoi mot thang ba nam hai nghin khong tram linh nam", datetime.date(2005, 3, 21)),
    ("ngày hai mươi tháng tư năm hai lăm", datetime.date(2025, 4, 20)),
    ("ngày ba mươi mốt tháng hai năm hai nghìn", None),
    ("ngày hai mươi mốt tháng ba", None),
    ("tháng ba năm hai nghìn", None),
    ("ngày mai", None),
    ("", None),
    ("ngày bốn mươi tháng ba năm hai nghìn", None),
    ("ngày một tháng mười ba năm hai nghìn", None),
    ("ngày một tháng ba năm ba nghìn", None),
]

NORMALISED = [
    ("tôi sinh năm một chín tám lăm", "tôi sinh năm 1985"),
    ("sinh năm chín tám", "sinh năm 98"),
    ("sinh năm hai nghìn không trăm linh năm", "sinh năm 2005"),
    (
        "ngày hai mươi mốt tháng ba năm hai nghìn không trăm linh năm",
        "ngày 21 tháng 3 năm 2005",
    ),
    ("tháng năm năm một chín chín tám", "tháng 5 năm 1998"),
    ("hai mốt tháng mười hai năm chín tám", "21 tháng 12 năm 98"),
    ("số của tôi là không chín không năm một hai ba bốn năm sáu", "số của tôi là 0905123456"),
    ("số của tôi là không chín không, năm một hai, ba bốn năm sáu", "số của tôi là 0905123456"),
    ("không chín mươi lăm một hai ba", "095123"),
    ("tôi năm mươi tuổi", "tôi 50 tuổi"),
    ("năm nay tôi năm mươi tuổi", "năm nay tôi 50 tuổi"),
    ("phạt hai triệu rưỡi đồng", "phạt 2500000 đồng"),
    ("khoảng một triệu hai", "khoảng 1200000"),
    ("năm trăm nghìn đồng", "500000 đồng"),
    ("tôi ở đây hai năm rồi", "tôi ở đây 2 năm rồi"),
    ("hai mươi năm trước", "20 năm trước"),
    ("mười hai năm", "12 năm"),
    ("một trăm năm", "100 năm"),
    ("mỗi năm một lần", "mỗi năm 1 lần"),
    ("tôi có hai, ba đứa con", "tôi có 2, 3 đứa con"),
    ("nhà ở kiệt năm", "nhà ở kiệt 5"),
    ("thứ tư tuần sau", "thứ 4 tuần sau"),
    ("tháng tư", "tháng 4"),
    ("chị ba nói vậy", "chị ba nói vậy"),
    ("ba tôi bị ốm", "ba tôi bị ốm"),
    ("ba người bị thương", "3 người bị thương"),
    ("chị Linh ở Huế", "chị Linh ở Huế"),
    ("hàng nghìn người", "hàng nghìn người"),
    ("ngày mốt tôi đến", "ngày mốt tôi đến"),
    ("tôi không biết", "tôi không biết"),
    ("không, số tôi là không chín", "không, số tôi là 09"),
    ("Tôi Sinh Năm Một Chín Tám Lăm", "Tôi Sinh Năm 1985"),
    ("toi sinh nam mot chin tam lam", "toi sinh nam 1985"),
    ("mười rưỡi", "mười rưỡi"),
    ("gọi 0905 nhé", "gọi 0905 nhé"),
    ("", ""),
    ("xin chào, tôi cần giúp đỡ!", "xin chào, tôi cần giúp đỡ!"),
]


@pytest.mark.parametrize(("text", "expected"), DIGITS)
def test_digits(text: str, expected: str) -> None:
    assert digits(text) == expected


@pytest.mark.parametrize("text", NO_DIGITS)
def test_digits_none_without_number_words(text: str) -> None:
    assert digits(text) is None


@pytest.mark.parametrize(("text", "expected"), CARDINALS)
def test_cardinal(text: str, expected: int | None) -> None:
    assert cardinal(text) == expected


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_spoken_date(text: str, expected: datetime.date | None) -> None:
    assert spoken_date(text) == expected


@pytest.mark.parametrize(("text", "expected"), NORMALISED)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_leaves_number_free_text_untouched_even_when_decomposed() -> None:
    nfd = unicodedata.normalize("NFD", "xin chào, tôi ở Huế")
    assert normalise(nfd) == nfd


def test_accented_text_keeps_unaccented_homographs_as_words() -> None:
    # In accented text "sau" is "after" and "nam" is "south", not sáu and năm.
    assert digits("không chín sau đó") == "09"
    assert normalise("miền nam có hai người") == "miền nam có 2 người"


# A formal speller, to check the parser against every reading of a range of values.
_UNITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def _spell_below_thousand(n: int, full: bool) -> list[str]:
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if full or hundreds:
        words += [_UNITS[hundreds], "trăm"]
        if tens == 0 and units:
            return [*words, "linh", _UNITS[units]]
    if tens == 1:
        words.append("mười")
    elif tens:
        words += [_UNITS[tens], "mươi"]
    if units:
        if tens >= 2 and units == 1:
            words.append("mốt")
        elif tens >= 1 and units == 5:
            words.append("lăm")
        elif tens >= 2 and units == 4:
            words.append("tư")
        else:
            words.append(_UNITS[units])
    return words


def _spell(n: int) -> str:
    if n == 0:
        return "không"
    words: list[str] = []
    for scale, name in ((10**9, "tỷ"), (10**6, "triệu"), (1000, "nghìn")):
        if n // scale % 1000:
            words += [*_spell_below_thousand(n // scale % 1000, full=bool(words)), name]
    rest = n % 1000
    if rest:
        words += _spell_below_thousand(rest, full=bool(words))
    return " ".join(words)


@pytest.mark.parametrize("value", [*range(1, 1200), 2005, 10_000, 1_000_001, 987_654_321])
def test_cardinal_reads_every_formal_spelling(value: int) -> None:
    assert cardinal(_spell(value)) == value
    assert normalise(_spell(value)) in {str(value), _spell(value)} | _year_noun(value)


def _year_noun(value: int) -> set[str]:
    # A reading closing on "năm" may leave it as the noun ("hai mươi năm" → "20 năm").
    spelled = _spell(value)
    if spelled.endswith(" năm"):
        return {f"{cardinal(spelled.removesuffix(' năm'))} năm"}
    return set()


def test_random_phone_numbers_round_trip() -> None:
    rng = random.Random(20240521)
    variants = {"7": ["bảy", "bẩy"], "4": ["bốn"], "5": ["năm"], "1": ["một"]}
    for _ in range(300):
        number = "0" + "".join(rng.choice("0123456789") for _ in range(9))
        words = [rng.choice(variants.get(d, [_UNITS[int(d)]])) for d in number]
        spoken = " ".join(words)
        assert digits(spoken) == number
        assert digits(f"số tôi là {spoken} ạ") == number
        assert normalise(spoken) == number
        assert digits(_fold_for_test(spoken)) == number


def _fold_for_test(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


_FUZZ_WORDS = [
    *_UNITS,
    *(_fold_for_test(w) for w in _UNITS),
    "mốt", "tư", "lăm", "nhăm", "linh", "lẻ", "mười", "mươi", "muoi", "chục", "hăm", "băm",
    "trăm", "nghìn", "ngàn", "triệu", "tỷ", "tỉ", "rưỡi", "ngày", "tháng", "năm", "mùng",
    "giêng", "chạp", "số", "thứ", "chị", "ba", "tôi", "à", "là", "0", "12", "9" * 40,
    ",", ".", "?", "-", "Ư", "İ", "ß", "٣", "đ", "  ",
]  # fmt: skip


def test_random_word_sequences_never_raise() -> None:
    rng = random.Random(1234)
    for _ in range(3000):
        text = " ".join(rng.choice(_FUZZ_WORDS) for _ in range(rng.randint(0, 40)))
        found = digits(text)
        assert found is None or (found.isascii() and found.isdigit())
        value = cardinal(text)
        assert value is None or value >= 0
        date = spoken_date(text)
        assert date is None or isinstance(date, datetime.date)
        assert isinstance(normalise(text), str)


def test_long_runs_of_scale_words_stay_cheap() -> None:
    text = "một " + "tỷ " * 2000 + "nghìn " * 2000
    assert cardinal(text) is None
    assert isinstance(normalise(text), str)
    assert digits(text) is not None

"""Tests for intake.validation: phones, CCCD numbers, text folding and PII masking."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import unicodedata
from datetime import date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import validation
from intake.validation import (
    PROVINCE_CODES,
    CccdInfo,
    ValidationError,
    fold_accents,
    format_phone_local,
    is_mobile,
    mask_cccd,
    mask_phone,
    mask_pii,
    normalize_phone,
    normalize_text,
    parse_cccd,
)

# No example database: the tests must not leave a .hypothesis directory behind.
PROPERTY = settings(database=None, deadline=None, max_examples=300)

# Letters that only Vietnamese text has; a message with none of them is not Vietnamese.
VIETNAMESE_MARKS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


def assert_resident_message(err: ValidationError) -> None:
    """A refusal message is NFC Vietnamese, polite and tells what to do."""
    message = err.message_vi
    assert str(err) == message
    assert unicodedata.is_normalized("NFC", message)
    assert set(message.lower()) & VIETNAMESE_MARKS, message
    assert "Vui lòng" in message, message
    assert message.endswith("."), message
    assert "  " not in message


def refusal(func: object, *args: object, **kwargs: object) -> ValidationError:
    """Call ``func`` and return the ValidationError it must raise."""
    assert callable(func)
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# ---------------------------------------------------------------------------
# ValidationError
# ---------------------------------------------------------------------------


class TestValidationError:
    def test_is_a_value_error_with_code_and_message(self) -> None:
        err = ValidationError("phone_invalid", "Số điện thoại chưa đúng.")
        assert isinstance(err, ValueError)
        assert err.code == "phone_invalid"
        assert err.message_vi == "Số điện thoại chưa đúng."
        assert str(err) == "Số điện thoại chưa đúng."

    def test_message_is_stored_in_nfc(self) -> None:
        nfd = unicodedata.normalize("NFD", "Số điện thoại ở Huế chưa đúng.")
        err = ValidationError("phone_invalid", nfd)
        assert err.message_vi == unicodedata.normalize("NFC", nfd)
        assert unicodedata.is_normalized("NFC", str(err))

    def test_survives_pickle_and_copy(self) -> None:
        err = refusal(normalize_phone, "0123")
        for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err)):
            assert isinstance(clone, ValidationError)
            assert clone.code == err.code
            assert str(clone) == str(err)

    def test_can_be_caught_as_value_error(self) -> None:
        with pytest.raises(ValueError, match="chưa đúng"):
            normalize_phone("0123")


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------


class TestNormalizePhone:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("0905123456", "+84905123456"),
            ("0905 123 456", "+84905123456"),
            ("0905.123.456", "+84905123456"),
            ("0905-123-456", "+84905123456"),
            ("(090) 5123 456", "+84905123456"),
            ("  0905 123 456  ", "+84905123456"),
            ("0905\t123\u00a0456", "+84905123456"),
            ("+84905123456", "+84905123456"),
            ("+84 905 123 456", "+84905123456"),
            ("+84-905-123-456", "+84905123456"),
            ("+84 (0) 905 123 456", "+84905123456"),
            ("84905123456", "+84905123456"),
            ("84 905 123 456", "+84905123456"),
            ("0084905123456", "+84905123456"),
            ("0084 905 123 456", "+84905123456"),
            ("0905\u200b123456", "+84905123456"),
            ("\uff10\uff19\uff10\uff15\uff11\uff12\uff13\uff14\uff15\uff16", "+84905123456"),
            ("0345 678 901", "+84345678901"),
            ("0567 890 123", "+84567890123"),
            ("0778 123 456", "+84778123456"),
            ("0845 123 456", "+84845123456"),
            ("0987 654 321", "+84987654321"),
        ],
    )
    def test_accepts_mobile_formats(self, raw: str, expected: str) -> None:
        assert normalize_phone(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("0234 3823 456", "+842343823456"),
            ("02343823456", "+842343823456"),
            ("(0234) 3823 456", "+842343823456"),
            ("0234.3823.456", "+842343823456"),
            ("+84 234 3823 456", "+842343823456"),
            ("84 234 3823 456", "+842343823456"),
            ("0084 234 3823 456", "+842343823456"),
            ("024 3825 1234", "+842438251234"),
            ("028 3829 1234", "+842838291234"),
        ],
    )
    def test_accepts_landlines(self, raw: str, expected: str) -> None:
        assert normalize_phone(raw) == expected

    @pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
    def test_every_mobile_prefix_is_accepted(self, prefix: str) -> None:
        assert normalize_phone(prefix + "12345678") == "+84" + prefix[1:] + "12345678"

    @pytest.mark.parametrize(
        "raw",
        [
            "0123",  # far too short
            "090512345",  # 9 digits
            "09051234567",  # 11-digit mobile
            "0234382345",  # 10-digit landline
            "023438234567",  # 12-digit landline
            "0412345678",  # no 04 mobiles
            "0612345678",  # no 06 mobiles
            "0012345678",
            "905123456",  # national number without its 0
            "+84",
            "+",
            "0",
            "84",
            "+849051234567",
            "+8490512345",
            "+84 123 456 7890",  # old 01x behind the country code
            "0084",
            "0000000000",
            "++84905123456",
            "0905+123456",
        ],
    )
    def test_rejects_wrong_numbers(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert_resident_message(err)

    def test_message_names_the_number_and_the_right_format(self) -> None:
        err = refusal(normalize_phone, "0123")
        assert str(err) == (
            "Số điện thoại 0123 chưa đúng. Vui lòng nhập số di động 10 chữ số, bắt đầu "
            "bằng 03, 05, 07, 08 hoặc 09 (hoặc số máy bàn 11 chữ số, bắt đầu bằng 02)."
        )

    @pytest.mark.parametrize("raw", ["", "   ", "\u00a0\t\n", "\u200b"])
    def test_empty_input_asks_for_a_number(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert "chưa nhập số điện thoại" in str(err)
        assert_resident_message(err)

    @pytest.mark.parametrize(
        "raw",
        [
            "abc",
            "09O5123456",
            "0905 123 456 (nhà)",
            "0905/123/456",
            "0905_123_456",
            "số 0905123456",
        ],
    )
    def test_rejects_letters_and_symbols(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert "không phải chữ số" in str(err)
        assert_resident_message(err)

    def test_rejects_non_latin_digits(self) -> None:
        arabic_indic = "\u0660\u0669\u0660\u0665\u0661\u0662\u0663\u0664\u0665\u0666"
        assert refusal(normalize_phone, arabic_indic).code == "phone_invalid"

    @pytest.mark.parametrize(
        "raw", ["0123 456 7890", "01234567890", "0168 123 4567", "+841681234567"]
    )
    def test_rejects_retired_01x_prefixes_with_a_hint(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert "01x" in str(err)
        assert "03, 05, 07, 08 hoặc 09" in str(err)
        assert_resident_message(err)

    @pytest.mark.parametrize(
        "raw", ["1900 1234", "19001234", "1800 1091", "1800.599.920", "1900-545-454"]
    )
    def test_rejects_service_numbers(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert "tổng đài" in str(err)
        assert_resident_message(err)

    @pytest.mark.parametrize("raw", ["+1 202 555 0100", "+44 20 7946 0958", "+85512345678"])
    def test_rejects_foreign_numbers(self, raw: str) -> None:
        err = refusal(normalize_phone, raw)
        assert err.code == "phone_invalid"
        assert "+84" in str(err)
        assert_resident_message(err)

    def test_very_long_input_is_shortened_in_the_message(self) -> None:
        err = refusal(normalize_phone, "0" * 500)
        assert len(str(err)) < 250
        assert "…" in str(err)

    def test_output_is_accepted_again_unchanged(self) -> None:
        for raw in ("0905 123 456", "(0234) 3823 456", "+84 (0) 905 123 456"):
            once = normalize_phone(raw)
            assert normalize_phone(once) == once


class TestIsMobile:
    @pytest.mark.parametrize(
        "e164", ["+84905123456", "+84345678901", "+84567890123", "+84778123456"]
    )
    def test_mobiles(self, e164: str) -> None:
        assert is_mobile(e164)

    @pytest.mark.parametrize(
        "value",
        [
            "+842343823456",  # Huế landline
            "0905123456",  # national form, not E.164
            "+84 905 123 456",
            "84905123456",
            "+8490512345",
            "+849051234567",
            "+84412345678",
            "",
            "hello",
        ],
    )
    def test_everything_else(self, value: str) -> None:
        assert not is_mobile(value)

    def test_agrees_with_normalize_phone(self) -> None:
        assert is_mobile(normalize_phone("0905.123.456"))
        assert not is_mobile(normalize_phone("0234.3823.456"))


class TestFormatPhoneLocal:
    @pytest.mark.parametrize(
        ("e164", "expected"),
        [
            ("+84905123456", "0905 123 456"),
            ("+84345678901", "0345 678 901"),
            ("+842343823456", "0234 3823 456"),
        ],
    )
    def test_formats(self, e164: str, expected: str) -> None:
        assert format_phone_local(e164) == expected

    def test_accepts_any_form_normalize_phone_accepts(self) -> None:
        assert format_phone_local("0905-123-456") == "0905 123 456"
        assert format_phone_local("84905123456") == "0905 123 456"

    def test_round_trips(self) -> None:
        assert normalize_phone(format_phone_local("+84905123456")) == "+84905123456"
        assert normalize_phone(format_phone_local("+842343823456")) == "+842343823456"

    def test_refuses_invalid_numbers(self) -> None:
        assert refusal(format_phone_local, "+84123").code == "phone_invalid"


DIGIT = st.sampled_from("0123456789")
SEPARATOR = st.sampled_from(["", "", " ", ".", "-"])


@st.composite
def written_phones(draw: st.DrawFn) -> tuple[str, str]:
    """A valid Vietnamese number as a resident might type it, and its E.164 form."""
    if draw(st.booleans()):
        nsn = draw(st.sampled_from("35789")) + "".join(
            draw(st.lists(DIGIT, min_size=8, max_size=8))
        )
    else:
        nsn = "2" + "".join(draw(st.lists(DIGIT, min_size=9, max_size=9)))
    prefix = draw(st.sampled_from(["0", "+84", "+84 ", "84", "0084", "+84 (0) ", "+84 0", "(0"]))
    # "(0" stands for a bracketed area or network code: "(0234) 3823 456".
    head = 3 if prefix == "(0" and nsn[0] == "2" else 2 if prefix == "(0" else 1
    body = nsn[:head] + (") " if prefix == "(0" else "")
    for digit in nsn[head:]:
        body += digit if body.endswith(" ") else draw(SEPARATOR) + digit
    return prefix + body, "+84" + nsn


class TestPhoneProperties:
    @PROPERTY
    @given(written_phones())
    def test_written_forms_normalise_to_e164(self, case: tuple[str, str]) -> None:
        raw, e164 = case
        assert normalize_phone(raw) == e164

    @PROPERTY
    @given(written_phones())
    def test_idempotent_on_valid_numbers(self, case: tuple[str, str]) -> None:
        once = normalize_phone(case[0])
        assert normalize_phone(once) == once
        assert normalize_phone(format_phone_local(once)) == once

    @PROPERTY
    @given(st.text(alphabet="+0123456789 .-()84x", max_size=20))
    def test_idempotent_or_refused_on_any_input(self, raw: str) -> None:
        try:
            once = normalize_phone(raw)
        except ValidationError as err:
            assert err.code == "phone_invalid"
            assert unicodedata.is_normalized("NFC", str(err))
        else:
            assert re.fullmatch(r"\+84[0-9]{9,10}", once)
            assert normalize_phone(once) == once


# ---------------------------------------------------------------------------
# CCCD
# ---------------------------------------------------------------------------


@pytest.fixture
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> date:
    """Pretend today is 1 June 2025."""
    today = date(2025, 6, 1)
    monkeypatch.setattr(validation, "_today", lambda: today)
    return today


class TestProvinceCodes:
    def test_has_the_63_provinces(self) -> None:
        assert len(PROVINCE_CODES) == 63
        assert len(set(PROVINCE_CODES.values())) == 63

    def test_keys_are_three_digits_and_names_are_nfc(self) -> None:
        for code, name in PROVINCE_CODES.items():
            assert re.fullmatch(r"0[0-9]{2}", code)
            assert name == name.strip()
            assert unicodedata.is_normalized("NFC", name)

    @pytest.mark.parametrize(
        ("code", "name"),
        [
            ("001", "Hà Nội"),
            ("031", "Hải Phòng"),
            ("045", "Quảng Trị"),
            ("046", "Thừa Thiên Huế"),
            ("048", "Đà Nẵng"),
            ("066", "Đắk Lắk"),
            ("077", "Bà Rịa - Vũng Tàu"),
            ("079", "Hồ Chí Minh"),
            ("092", "Cần Thơ"),
            ("096", "Cà Mau"),
        ],
    )
    def test_known_codes(self, code: str, name: str) -> None:
        assert PROVINCE_CODES[code] == name

    @pytest.mark.parametrize("code", ["000", "003", "005", "047", "050", "097", "099", "100"])
    def test_unused_codes_are_absent(self, code: str) -> None:
        assert code not in PROVINCE_CODES


class TestParseCccd:
    def test_decodes_a_hue_number(self) -> None:
        info = parse_cccd("046085001234")
        assert info == CccdInfo(
            number="046085001234",
            province_code="046",
            province_name="Thừa Thiên Huế",
            sex="male",
            birth_year=1985,
        )

    @pytest.mark.parametrize(
        "raw",
        [
            "046 085 001 234",
            "046.085.001.234",
            "046-085-001-234",
            " 0460 8500 1234 ",
            "046\u00a0085001234",
        ],
    )
    def test_ignores_separators(self, raw: str) -> None:
        assert parse_cccd(raw).number == "046085001234"

    @pytest.mark.parametrize(
        ("raw", "sex", "year"),
        [
            ("046085001234", "male", 1985),
            ("046190001234", "female", 1990),
            ("001200001234", "male", 2000),
            ("079305001234", "female", 2005),
            ("048099001234", "male", 1999),
            ("048100001234", "female", 1900),
        ],
    )
    def test_decodes_sex_and_birth_year(self, raw: str, sex: str, year: int) -> None:
        info = parse_cccd(raw)
        assert (info.sex, info.birth_year) == (sex, year)

    @pytest.mark.parametrize(
        ("digit", "sex", "year"),
        [
            ("0", "male", 1907),
            ("1", "female", 1907),
            ("2", "male", 2007),
            ("3", "female", 2007),
            ("4", "male", 2107),
            ("5", "female", 2107),
            ("6", "male", 2207),
            ("7", "female", 2207),
            ("8", "male", 2307),
            ("9", "female", 2307),
        ],
    )
    def test_century_and_sex_digit(
        self, monkeypatch: pytest.MonkeyPatch, digit: str, sex: str, year: int
    ) -> None:
        monkeypatch.setattr(validation, "_today", lambda: date(2400, 1, 1))
        info = parse_cccd(f"046{digit}07001234")
        assert (info.sex, info.birth_year) == (sex, year)

    def test_every_province_code_is_accepted(self) -> None:
        for code, name in PROVINCE_CODES.items():
            info = parse_cccd(code + "085001234")
            assert (info.province_code, info.province_name) == (code, name)

    def test_result_is_frozen(self) -> None:
        info = parse_cccd("046085001234")
        with pytest.raises(dataclasses.FrozenInstanceError):
            info.birth_year = 1990  # type: ignore[misc]

    @pytest.mark.parametrize("raw", ["04608500123", "0460850012345", "046", "0460 8500 123"])
    def test_wrong_length(self, raw: str) -> None:
        err = refusal(parse_cccd, raw)
        assert err.code == "cccd_length"
        assert "12 chữ số" in str(err)
        assert_resident_message(err)

    def test_wrong_length_message_says_how_many_digits_were_typed(self) -> None:
        assert "có 11 chữ số" in str(refusal(parse_cccd, "04608500123"))

    @pytest.mark.parametrize("raw", ["", "   ", "\u200b"])
    def test_empty(self, raw: str) -> None:
        err = refusal(parse_cccd, raw)
        assert err.code == "cccd_length"
        assert "chưa nhập" in str(err)
        assert_resident_message(err)

    @pytest.mark.parametrize(
        "raw",
        ["04608500123a", "O46085001234", "046/085/001/234", "CCCD 046085001234", "٠٤٦٠٨٥٠٠١٢٣٤"],
    )
    def test_not_digits(self, raw: str) -> None:
        err = refusal(parse_cccd, raw)
        assert err.code == "cccd_not_digits"
        assert "chữ số" in str(err)
        assert_resident_message(err)

    @pytest.mark.parametrize(
        "raw", ["000085001234", "003085001234", "099085001234", "999085001234"]
    )
    def test_unknown_province(self, raw: str) -> None:
        err = refusal(parse_cccd, raw)
        assert err.code == "cccd_province"
        assert raw[:3] in str(err)
        assert "tỉnh" in str(err)
        assert_resident_message(err)

    def test_birth_year_in_the_future_is_refused(self, pinned_today: date) -> None:
        assert parse_cccd("046225001234").birth_year == 2025  # born this year: fine
        err = refusal(parse_cccd, "046226001234")
        assert err.code == "cccd_birth_year"
        assert "2026" in str(err)
        assert "tương lai" in str(err)
        assert_resident_message(err)

    def test_next_century_is_refused_today(self) -> None:
        err = refusal(parse_cccd, "046400001234")
        assert err.code == "cccd_birth_year"
        assert "2100" in str(err)

    def test_future_check_uses_the_real_date(self) -> None:
        next_year = date.today().year + 1
        century_digit = (next_year // 100 - 19) * 2
        raw = f"046{century_digit}{next_year % 100:02d}001234"
        assert refusal(parse_cccd, raw).code == "cccd_birth_year"

    def test_matching_birth_date(self) -> None:
        info = parse_cccd("046085001234", birth_date=date(1985, 3, 14))
        assert info.birth_year == 1985

    def test_datetime_is_accepted_as_birth_date(self) -> None:
        assert parse_cccd("046085001234", birth_date=datetime(1985, 3, 14, 8, 0)).birth_year == 1985

    def test_birth_date_from_another_year(self) -> None:
        err = refusal(parse_cccd, "046085001234", birth_date=date(1986, 1, 2))
        assert err.code == "cccd_birth_year"
        assert "1985" in str(err)
        assert "1986" in str(err)
        assert "năm sinh" in str(err).lower()
        assert_resident_message(err)

    def test_birth_date_in_the_wrong_century(self) -> None:
        err = refusal(parse_cccd, "046205001234", birth_date=date(1905, 3, 14))
        assert err.code == "cccd_birth_year"
        assert "2005" in str(err)
        assert "1905" in str(err)

    @pytest.mark.parametrize(("raw", "sex"), [("046085001234", "male"), ("046185001234", "female")])
    def test_matching_sex(self, raw: str, sex: str) -> None:
        assert parse_cccd(raw, sex=sex).sex == sex

    def test_sex_is_case_insensitive(self) -> None:
        assert parse_cccd("046185001234", sex=" Female ").sex == "female"

    def test_sex_mismatch(self) -> None:
        err = refusal(parse_cccd, "046185001234", sex="male")
        assert err.code == "cccd_sex"
        assert "Giới tính theo số CCCD là nữ" in str(err)
        assert "bạn đã chọn nam" in str(err)
        assert_resident_message(err)

    def test_sex_mismatch_the_other_way(self) -> None:
        err = refusal(parse_cccd, "046085001234", sex="female")
        assert err.code == "cccd_sex"
        assert "là nam" in str(err)

    @pytest.mark.parametrize(
        ("raw", "sex", "expected"),
        [
            ("046185001234", "nữ", "female"),
            ("046185001234", "Nữ", "female"),
            ("046185001234", "NU", "female"),
            ("046085001234", "Nam", "male"),
            ("046085001234", "MALE", "male"),
        ],
    )
    def test_vietnamese_spellings_of_sex(self, raw: str, sex: str, expected: str) -> None:
        assert parse_cccd(raw, sex=sex).sex == expected
        assert parse_cccd(raw, sex=nfd(sex)).sex == expected

    def test_vietnamese_sex_mismatch(self) -> None:
        assert refusal(parse_cccd, "046085001234", sex="nữ").code == "cccd_sex"

    @pytest.mark.parametrize("sex", ["", "  "])
    def test_blank_sex_counts_as_not_given(self, sex: str) -> None:
        assert parse_cccd("046185001234", sex=sex).sex == "female"

    @pytest.mark.parametrize("sex", ["x", "other", "M", "khác"])
    def test_unknown_sex_is_refused_politely(self, sex: str) -> None:
        err = refusal(parse_cccd, "046085001234", sex=sex)
        assert err.code == "cccd_sex"
        assert "nam hoặc nữ" in str(err)
        assert_resident_message(err)

    def test_checks_run_in_order(self) -> None:
        # Letters are reported before length, length before the province, and so on.
        assert refusal(parse_cccd, "12a").code == "cccd_not_digits"
        assert refusal(parse_cccd, "99908500123").code == "cccd_length"
        assert refusal(parse_cccd, "999085001234", sex="female").code == "cccd_province"
        err = refusal(parse_cccd, "046085001234", birth_date=date(1990, 1, 1), sex="female")
        assert err.code == "cccd_birth_year"


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def nfd(s: str) -> str:
    """Return ``s`` in the decomposed form some keyboards and macOS produce."""
    return unicodedata.normalize("NFD", s)


class TestNormalizeText:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("  Đường Lê Lợi  ", "Đường Lê Lợi"),
            ("Đường\u00a0Lê\tLợi\n", "Đường Lê Lợi"),
            ("Phường\r\n\r\nVĩnh   Ninh", "Phường Vĩnh Ninh"),
            ("Huế\u202fxanh", "Huế xanh"),
            ("Hu\u200bế", "Huế"),
            ("\ufeffNgập nước", "Ngập nước"),
            ("đèn\u200c \u200d đường\u2060", "đèn đường"),
            ("", ""),
            (" \t\n\u00a0", ""),
        ],
    )
    def test_cleans_up(self, raw: str, expected: str) -> None:
        assert normalize_text(raw) == expected

    def test_nfd_becomes_nfc(self) -> None:
        text = "Thừa Thiên Huế: đường ngập sâu"
        assert normalize_text(nfd(text)) == text
        assert unicodedata.is_normalized("NFC", normalize_text(nfd(text)))

    def test_zero_width_between_letter_and_mark_is_removed_before_composing(self) -> None:
        assert normalize_text("Hue\u200b\u0302\u0301") == "Huế"

    def test_is_idempotent(self) -> None:
        once = normalize_text("  Cây\u00a0đổ   ở  \n Kim Long ")
        assert normalize_text(once) == once


class TestFoldAccents:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("Huế", "hue"),
            ("Đường Lê Lợi", "duong le loi"),
            ("THỪA THIÊN HUẾ", "thua thien hue"),
            ("Phường Vĩnh Ninh", "phuong vinh ninh"),
            ("Quảng Trị", "quang tri"),
            ("Đắk Lắk", "dak lak"),
            ("a à á ả ã ạ", "a a a a a a"),
            ("ă ằ ắ ẳ ẵ ặ â ầ ấ ẩ ẫ ậ", "a a a a a a a a a a a a"),
            ("ơ ờ ớ ở ỡ ợ ư ừ ứ ử ữ ự", "o o o o o o u u u u u u"),
            ("Ê Ô Ơ Ư Ă Â Đ", "e o o u a a d"),
            ("ỳ ý ỷ ỹ ỵ", "y y y y y"),
            ("  Cầu\u00a0Trường   Tiền\n", "cau truong tien"),
            ("Hu\u200bế", "hue"),
            ("Ðường", "duong"),  # Icelandic eth typed instead of Đ
            ("Số 12, kiệt 34/5", "so 12, kiet 34/5"),
            ("", ""),
        ],
    )
    def test_folds(self, raw: str, expected: str) -> None:
        assert fold_accents(raw) == expected

    @pytest.mark.parametrize("text", ["Huế", "Đường Lê Lợi", "Nguyễn Thị Ngọc Ánh", "Hương Thủy"])
    def test_nfc_and_nfd_fold_the_same(self, text: str) -> None:
        assert unicodedata.normalize("NFC", text) != nfd(text)
        assert fold_accents(nfd(text)) == fold_accents(text)

    def test_hue_in_nfd(self) -> None:
        assert fold_accents("Hue\u0302\u0301") == "hue"


_TONES = ["", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]
_VOWELS = ["a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y"]
VIETNAMESE_LETTERS = sorted(
    {unicodedata.normalize("NFC", v + t) for v in _VOWELS for t in _TONES}
    | set("bcdđghklmnpqrstvx")
)
VIETNAMESE_LETTERS += [c.upper() for c in VIETNAMESE_LETTERS]
vietnamese_text = st.text(
    alphabet=st.sampled_from([*VIETNAMESE_LETTERS, " ", "\u00a0", "\t", "\n", ",", ".", "0", "7"]),
    max_size=60,
)


class TestTextProperties:
    def test_the_test_alphabet_is_vietnamese(self) -> None:
        assert len(VIETNAMESE_LETTERS) == 2 * (12 * 6 + 17)
        assert all(len(c) == 1 for c in VIETNAMESE_LETTERS)

    @PROPERTY
    @given(vietnamese_text, st.booleans())
    def test_fold_accents_is_ascii(self, text: str, decompose: bool) -> None:
        folded = fold_accents(nfd(text) if decompose else text)
        assert folded.isascii()
        assert folded == folded.lower()
        assert folded == folded.strip()
        assert "  " not in folded

    @PROPERTY
    @given(vietnamese_text)
    def test_fold_accents_ignores_normalisation_form(self, text: str) -> None:
        assert fold_accents(nfd(text)) == fold_accents(text)

    @PROPERTY
    @given(vietnamese_text)
    def test_fold_accents_is_idempotent(self, text: str) -> None:
        once = fold_accents(text)
        assert fold_accents(once) == once

    @PROPERTY
    @given(st.text(max_size=60))
    def test_normalize_text_is_nfc_idempotent_and_tidy(self, text: str) -> None:
        once = normalize_text(text)
        assert unicodedata.is_normalized("NFC", once)
        assert normalize_text(once) == once
        assert "\u200b" not in once
        assert "  " not in once


# ---------------------------------------------------------------------------
# PII masking
# ---------------------------------------------------------------------------


class TestMaskPhone:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("+84905123456", "+84*******56"),
            ("0905123456", "090*****56"),
            ("0905 123 456", "090*****56"),
            ("+84 905.123.456", "+84*******56"),
            ("+842343823456", "+84********56"),
            ("(0234) 3823 456", "023******56"),
            ("12345", "*****"),
            ("", ""),
        ],
    )
    def test_masks(self, raw: str, expected: str) -> None:
        assert mask_phone(raw) == expected


class TestMaskCccd:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("046085001234", "*********234"),
            ("046 085 001 234", "*********234"),
            ("046.085.001.234", "*********234"),
            ("12", "**"),
            ("", ""),
        ],
    )
    def test_masks(self, raw: str, expected: str) -> None:
        assert mask_cccd(raw) == expected

    def test_province_prefix_is_not_kept(self) -> None:
        assert not mask_cccd("046085001234").startswith("046")


class TestMaskPii:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            (
                "Người dân gọi từ số 0905123456 báo ngập ở Kim Long.",
                "Người dân gọi từ số 090*****56 báo ngập ở Kim Long.",
            ),
            ("SĐT: 0905 123 456.", "SĐT: 090*****56."),
            ("sđt 0905.123.456, gọi sau 17h", "sđt 090*****56, gọi sau 17h"),
            ("callback=+84905123456 status=queued", "callback=+84*******56 status=queued"),
            ("from +84 905 123 456 to agent 7", "from +84*******56 to agent 7"),
            ("from 84905123456", "from 849******56"),
            ("from 0084 905 123 456", "from 008********56"),
            ("Gọi (0234) 3823 456 giờ hành chính", "Gọi 023******56 giờ hành chính"),
            ("Máy bàn 0234.3823.456", "Máy bàn 023******56"),
            ("Số +84 (0) 905 123 456", "Số +84********56"),
            ("CCCD 046085001234 của bà Lan", "CCCD *********234 của bà Lan"),
            ("CCCD: 046 085 001 234.", "CCCD: *********234."),
            ("cccd=0460-8500-1234", "cccd=*********234"),
            ("sdt0905123456", "sdt090*****56"),
            ("(0905123456)", "(090*****56)"),
            ("[SĐT 0905123456]", "[SĐT 090*****56]"),
            ("from +84 (234) 3823 456", "from +84********56"),
            (
                "Ông Minh (CCCD 046085001234, SĐT 0905123456) phản ánh đèn đường hỏng.",
                "Ông Minh (CCCD *********234, SĐT 090*****56) phản ánh đèn đường hỏng.",
            ),
            (
                "Liên hệ 0905123456 hoặc 0914 111 222; cố định 0234 3823 456",
                "Liên hệ 090*****56 hoặc 091*****22; cố định 023******56",
            ),
        ],
    )
    def test_masks_inside_log_lines(self, text: str, expected: str) -> None:
        assert mask_pii(text) == expected

    def test_cccd_is_not_mistaken_for_a_phone(self) -> None:
        # 079... is 12 digits; read as a phone it would keep "079" and leak the year.
        assert mask_pii("id 079305001234") == "id *********234"
        assert mask_pii("id 090512345678") == "id *********678"

    @pytest.mark.parametrize(
        "text",
        [
            "Năm 2024 có 12 hộ dân bị ngập, mã hồ sơ HS-2024-000123.",
            "Ngày 12/05/2024 lúc 09:30, phường Vĩnh Ninh.",
            "Số tiền 3.500.000 đồng, đơn 15/2024/QĐ-UBND.",
            "Tổng đài 1900 1234 và 1022.",
            "Số tài khoản 0071000123456 (13 chữ số) không phải SĐT hay CCCD.",
            "Mã 12345678901 (11 chữ số)",
            "Điện thoại 0123 chưa đủ số.",
            "",
        ],
    )
    def test_leaves_other_text_alone(self, text: str) -> None:
        assert mask_pii(text) == text

    def test_keeps_vietnamese_text_byte_for_byte(self) -> None:
        text = nfd("Bà Hoà ở Huế, SĐT 0905123456, nói: “đường ngập”.")
        masked = mask_pii(text)
        assert masked == text.replace("0905123456", "090*****56")

    def test_is_idempotent(self) -> None:
        text = "CCCD 046085001234, SĐT +84 905 123 456"
        assert mask_pii(mask_pii(text)) == mask_pii(text)

    @PROPERTY
    @given(written_phones(), st.sampled_from(["Liên hệ ", "SĐT: ", "(", "gọi lại ", ""]))
    def test_any_written_phone_is_masked(self, case: tuple[str, str], before: str) -> None:
        raw, e164 = case
        masked = mask_pii(f"{before}{raw} giúp tôi.")
        assert masked.startswith(before)
        assert masked.endswith(" giúp tôi.")
        # At most the first three characters and the last two digits survive.
        assert sum(ch.isdigit() for ch in masked) <= 5
        assert e164[3:] not in masked

    @PROPERTY
    @given(st.lists(DIGIT, min_size=12, max_size=12), st.sampled_from(["", " ", ".", "-"]))
    def test_any_cccd_is_masked(self, digits: list[str], sep: str) -> None:
        number = "".join(digits)
        written = sep.join(number[i : i + 3] for i in range(0, 12, 3))
        assert mask_pii(f"CCCD {written} đã xác minh") == f"CCCD {'*' * 9}{number[-3:]} đã xác minh"

    @PROPERTY
    @given(vietnamese_text)
    def test_text_without_digits_is_unchanged(self, text: str) -> None:
        text = text.replace("0", "").replace("7", "")
        assert mask_pii(text) == text

"""Validation and normalisation of resident-supplied data for the Huế citizen hotline.

Everything here is pure standard library and side-effect free, so it can be used from
the web forms, the chatbot, the IVR and the agents' console alike.

* :func:`normalize_phone` turns a Vietnamese phone number, written any common way,
  into E.164 (``+84…``); :func:`is_mobile` and :func:`format_phone_local` work on
  that form.
* :func:`parse_cccd` checks a 12-digit citizen identity card (CCCD) number and
  decodes the province, sex and birth year it encodes.
* :func:`normalize_text` and :func:`fold_accents` give the canonical display form
  and the accent-folded matching form of free text.
* :func:`mask_phone`, :func:`mask_cccd` and :func:`mask_pii` hide personal data
  before it reaches a log.

Every refusal raises :class:`ValidationError`, whose ``code`` is meant for programs
and whose ``message_vi`` (also ``str(err)``) is a polite Vietnamese sentence that can
be shown to the resident as is.  Note that these messages repeat what the resident
typed (often a malformed number that :func:`mask_pii` would not recognise), so log
``err.code`` rather than the message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

__all__ = [
    "PROVINCE_CODES",
    "CccdInfo",
    "ValidationError",
    "fold_accents",
    "format_phone_local",
    "is_mobile",
    "mask_cccd",
    "mask_phone",
    "mask_pii",
    "normalize_phone",
    "normalize_text",
    "parse_cccd",
]


class ValidationError(ValueError):
    """A resident-supplied value was refused.

    Attributes:
        code: Short machine-readable reason, e.g. ``"phone_invalid"``.
        message_vi: Polite Vietnamese sentence (Unicode NFC) telling the resident
            what was wrong and what to do.  ``str(err)`` returns it.
    """

    code: str
    message_vi: str

    def __init__(self, code: str, message_vi: str) -> None:
        """Create the error from its machine ``code`` and Vietnamese message."""
        message_vi = unicodedata.normalize("NFC", message_vi)
        # Both values go into ``args`` so that the exception pickles and copies.
        super().__init__(code, message_vi)
        self.code = code
        self.message_vi = message_vi

    def __str__(self) -> str:
        """Return the Vietnamese message for the resident."""
        return self.message_vi


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

# Invisible characters that creep in through copy and paste or mobile keyboards.
_ZERO_WIDTH_TABLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u180e"),
    None,
)

# "đ"/"Đ" have no decomposition; the Icelandic eth "ð"/"Ð" looks identical and is a
# frequent stand-in for it (it is already lowercased when this table is applied).
_D_TABLE = {ord("đ"): "d", ord("ð"): "d"}


def normalize_text(s: str) -> str:
    """Return the canonical display form of a piece of free text.

    The text is put in Unicode NFC, zero-width characters (zero-width space and
    (non-)joiners, word joiner, byte-order mark) are removed, every run of
    whitespace (including non-breaking spaces, tabs and newlines) becomes a single
    space, and leading and trailing whitespace is dropped.

    >>> normalize_text("  Đường\\u00a0Lê   Lợi\\n")
    'Đường Lê Lợi'
    """
    text = unicodedata.normalize("NFC", s.translate(_ZERO_WIDTH_TABLE))
    return " ".join(text.split())


def fold_accents(s: str) -> str:
    """Return the accent-folded, lowercase matching form of ``s``.

    Vietnamese diacritics are removed (``"đ"`` becomes ``"d"``) and whitespace is
    collapsed as in :func:`normalize_text`; the result is the same whether the
    input was NFC or NFD.

    >>> fold_accents("Đường Lê Lợi")
    'duong le loi'
    >>> fold_accents("Hue\\u0302\\u0301") == fold_accents("Huế") == "hue"
    True
    """
    text = normalize_text(s).lower()
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", " ".join(bare.translate(_D_TABLE).split()))


def _shown(raw: str, limit: int = 30) -> str:
    """Return ``raw`` tidied and shortened so it can be quoted in a message."""
    text = normalize_text(raw)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

# Characters people put between the digits of a phone number.
_PHONE_SEPARATORS = frozenset(".-()\u2010\u2011\u2012\u2013\u2014\u2212")

# National significant numbers (what follows +84 or the national trunk 0).
_MOBILE_NSN_RE = re.compile(r"[35789][0-9]{8}")
_LANDLINE_NSN_RE = re.compile(r"2[0-9]{9}")
_MOBILE_E164_RE = re.compile(r"\+84[35789][0-9]{8}")

_PHONE_HINT = (
    "Vui lòng nhập số di động 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09 "
    "(hoặc số máy bàn 11 chữ số, bắt đầu bằng 02)."
)


def _compact_phone(raw: str) -> str:
    """Drop whitespace, separators and invisible characters from a phone number."""
    text = unicodedata.normalize("NFKC", raw.translate(_ZERO_WIDTH_TABLE))
    return "".join(ch for ch in text if not ch.isspace() and ch not in _PHONE_SEPARATORS)


def _phone_error(raw: str, message_vi: str | None = None) -> ValidationError:
    """Build the ``phone_invalid`` error for ``raw``."""
    if message_vi is None:
        message_vi = f"Số điện thoại {_shown(raw)} chưa đúng. {_PHONE_HINT}"
    return ValidationError("phone_invalid", message_vi)


def normalize_phone(raw: str) -> str:
    """Return the Vietnamese phone number ``raw`` in E.164 form (``+84…``).

    Spaces, dots, dashes and parentheses between the digits are ignored, and the
    number may start with ``+84``, ``84``, ``0084`` or the national ``0``.  A
    national ``0`` written after the country code (``+84 (0) 905…``) is also
    accepted.  Accepted numbers are

    * mobiles: national ``03``, ``05``, ``07``, ``08`` or ``09`` and 8 more digits
      (10 digits), e.g. ``0905 123 456`` -> ``+84905123456``;
    * landlines: national ``02`` and 9 more digits (11 digits), e.g. the Huế number
      ``0234 3823 456`` -> ``+842343823456``.

    The function is idempotent: its output is accepted and returned unchanged.

    Raises:
        ValidationError: code ``"phone_invalid"`` for anything else (wrong length,
            letters, foreign numbers, the retired 11-digit ``01x`` mobile prefixes,
            ``1800``/``1900`` service numbers).
    """
    compact = _compact_phone(raw)
    if not compact:
        raise _phone_error(raw, f"Bạn chưa nhập số điện thoại. {_PHONE_HINT}")
    has_plus = compact.startswith("+")
    digits = compact[1:] if has_plus else compact
    if not (digits.isascii() and digits.isdigit()):
        raise _phone_error(
            raw,
            f"Số điện thoại {_shown(raw)} có ký tự không phải chữ số. "
            "Vui lòng chỉ nhập các chữ số, ví dụ 0905 123 456.",
        )
    if not has_plus and digits.startswith(("1800", "1900")):
        raise _phone_error(
            raw,
            f"Số {_shown(raw)} là số tổng đài dịch vụ (1800/1900), không thể dùng để liên hệ "
            "lại với bạn. Vui lòng nhập số di động hoặc số máy bàn của bạn.",
        )

    if has_plus:
        if not digits.startswith("84"):
            raise _phone_error(
                raw,
                f"Số điện thoại {_shown(raw)} không phải là số Việt Nam (mã +84). "
                f"Hệ thống hiện chỉ nhận số điện thoại trong nước. {_PHONE_HINT}",
            )
        nsn, international = digits[2:], True
    elif digits.startswith("0084"):
        nsn, international = digits[4:], True
    elif digits.startswith("84"):
        nsn, international = digits[2:], True
    elif digits.startswith("0"):
        nsn, international = digits[1:], False
    else:
        raise _phone_error(raw)
    if international and nsn.startswith("0"):
        nsn = nsn[1:]  # "+84 (0) 905 …": the national trunk 0 written anyway

    if _MOBILE_NSN_RE.fullmatch(nsn) or _LANDLINE_NSN_RE.fullmatch(nsn):
        return "+84" + nsn
    if len(nsn) == 10 and nsn.startswith("1"):
        raise _phone_error(
            raw,
            f"Số điện thoại {_shown(raw)} dùng đầu số 01x cũ (11 chữ số), đã được chuyển "
            "sang đầu số mới từ năm 2018. Vui lòng nhập số di động 10 chữ số mới, "
            "bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
        )
    raise _phone_error(raw)


def is_mobile(e164: str) -> bool:
    """Return ``True`` if ``e164`` is a Vietnamese mobile number in E.164 form.

    Only the exact output of :func:`normalize_phone` is recognised; anything else
    (landlines, national or spaced forms, garbage) gives ``False``.
    """
    return _MOBILE_E164_RE.fullmatch(e164) is not None


def format_phone_local(e164: str) -> str:
    """Return the number in the national form residents are used to reading.

    Mobiles are grouped 4-3-3 (``"+84905123456"`` -> ``"0905 123 456"``) and
    landlines 4-4-3 (``"+842343823456"`` -> ``"0234 3823 456"``).  Any form that
    :func:`normalize_phone` accepts may be passed.

    Raises:
        ValidationError: code ``"phone_invalid"`` if the number is not valid.
    """
    national = "0" + normalize_phone(e164)[3:]
    if len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return f"{national[:4]} {national[4:8]} {national[8:]}"


# ---------------------------------------------------------------------------
# CCCD (căn cước công dân)
# ---------------------------------------------------------------------------

PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}
"""The 63 provincial codes that begin a CCCD number, mapped to the province name."""

_SEX_VI = {"male": "nam", "female": "nữ"}
# Accepted spellings of ``sex`` after :func:`fold_accents` ("Nữ" -> "nu").
_SEX_ALIASES = {"male": "male", "female": "female", "nam": "male", "nu": "female"}
_CCCD_STRIP_TABLE = dict.fromkeys(map(ord, ".-\u2010\u2011\u2012\u2013\u2014\u2212"), None)
_CCCD_HINT = "Vui lòng kiểm tra lại số in trên thẻ Căn cước công dân của bạn."


@dataclass(frozen=True, slots=True)
class CccdInfo:
    """What a valid CCCD number says about its holder.

    Attributes:
        number: The 12 digits, without separators.
        province_code: The first three digits (place of birth registration).
        province_name: Vietnamese name of that province.
        sex: ``"male"`` or ``"female"``.
        birth_year: Four-digit year of birth.
    """

    number: str
    province_code: str
    province_name: str
    sex: str
    birth_year: int


def _today() -> date:
    """Return today's date (a separate function so tests can pin it)."""
    return date.today()


def parse_cccd(
    raw: str,
    *,
    birth_date: date | None = None,
    sex: str | None = None,
) -> CccdInfo:
    """Check a 12-digit CCCD number and decode it.

    Spaces, dots and dashes are ignored.  The digits are read as

    * 1-3: province code (a key of :data:`PROVINCE_CODES`);
    * 4: century and sex: 0/1 = 1900-1999, 2/3 = 2000-2099, 4/5 = 2100-2199,
      6/7 = 2200-2299, 8/9 = 2300-2399; even is male, odd is female;
    * 5-6: last two digits of the birth year;
    * 7-12: serial number.

    Args:
        raw: The number as typed.
        birth_date: If given, its year must be the decoded birth year.
        sex: If given (``"male"`` or ``"female"``; case, spacing and the Vietnamese
            ``"nam"``/``"nữ"`` are also understood), it must be the decoded sex.  A
            blank string counts as not given.

    Raises:
        ValidationError: with code ``"cccd_not_digits"`` (characters other than
            digits), ``"cccd_length"`` (not exactly 12 digits), ``"cccd_province"``
            (unknown province code), ``"cccd_birth_year"`` (decoded year in the
            future, or different from ``birth_date``) or ``"cccd_sex"`` (``sex``
            differs from the decoded sex, or is not a sex this function knows).
            The checks run in that order and the first failure is raised.
    """
    number = "".join(
        unicodedata.normalize("NFC", raw.translate(_ZERO_WIDTH_TABLE))
        .translate(_CCCD_STRIP_TABLE)
        .split()
    )
    if not number:
        raise ValidationError(
            "cccd_length",
            "Bạn chưa nhập số Căn cước công dân (CCCD). Vui lòng nhập đủ 12 chữ số in trên thẻ.",
        )
    if not (number.isascii() and number.isdigit()):
        raise ValidationError(
            "cccd_not_digits",
            f"Số CCCD {_shown(raw)} có ký tự không phải chữ số. "
            f"Số CCCD chỉ gồm 12 chữ số. {_CCCD_HINT}",
        )
    if len(number) != 12:
        raise ValidationError(
            "cccd_length",
            f"Số CCCD phải có đúng 12 chữ số, nhưng số bạn nhập có {len(number)} chữ số. "
            f"{_CCCD_HINT}",
        )

    province_code = number[:3]
    province_name = PROVINCE_CODES.get(province_code)
    if province_name is None:
        raise ValidationError(
            "cccd_province",
            f"Ba chữ số đầu của số CCCD ({province_code}) không phải là mã tỉnh, "
            f"thành phố hợp lệ. {_CCCD_HINT}",
        )

    century_digit = int(number[3])
    decoded_sex = "female" if century_digit % 2 else "male"
    birth_year = 1900 + (century_digit // 2) * 100 + int(number[4:6])

    if birth_year > _today().year:
        raise ValidationError(
            "cccd_birth_year",
            f"Số CCCD cho thấy năm sinh {birth_year}, là một năm trong tương lai. {_CCCD_HINT}",
        )
    if birth_date is not None and birth_date.year != birth_year:
        raise ValidationError(
            "cccd_birth_year",
            f"Năm sinh theo số CCCD là {birth_year}, nhưng năm sinh bạn khai là "
            f"{birth_date.year}. Vui lòng kiểm tra lại số CCCD hoặc ngày sinh của bạn.",
        )
    folded_sex = fold_accents(sex) if sex is not None else ""
    wanted_sex = _SEX_ALIASES.get(folded_sex)
    if folded_sex and wanted_sex is None:
        raise ValidationError(
            "cccd_sex",
            f"Giới tính “{_shown(sex or '')}” chưa rõ. Vui lòng chọn nam hoặc nữ.",
        )
    if wanted_sex is not None and wanted_sex != decoded_sex:
        raise ValidationError(
            "cccd_sex",
            f"Giới tính theo số CCCD là {_SEX_VI[decoded_sex]}, nhưng bạn đã chọn "
            f"{_SEX_VI[wanted_sex]}. Vui lòng kiểm tra lại số CCCD hoặc giới tính của bạn.",
        )

    return CccdInfo(
        number=number,
        province_code=province_code,
        province_name=province_name,
        sex=decoded_sex,
        birth_year=birth_year,
    )


# ---------------------------------------------------------------------------
# PII masking for logs
# ---------------------------------------------------------------------------


def mask_phone(s: str) -> str:
    """Mask a phone number for logging, keeping its first 3 and last 2 characters.

    Separators are dropped first: ``"+84905123456"`` -> ``"+84*******56"``,
    ``"0905 123 456"`` -> ``"090*****56"``.  Inputs of 5 characters or fewer are
    masked completely.  The number does not have to be valid.
    """
    compact = _compact_phone(s)
    if len(compact) <= 5:
        return "*" * len(compact)
    return compact[:3] + "*" * (len(compact) - 5) + compact[-2:]


def mask_cccd(s: str) -> str:
    """Mask a CCCD number for logging, keeping only its last 3 digits.

    Separators are dropped first: ``"046085001234"`` -> ``"*********234"``.  Inputs
    of 3 characters or fewer are masked completely.
    """
    compact = "".join(s.translate(_ZERO_WIDTH_TABLE).translate(_CCCD_STRIP_TABLE).split())
    if len(compact) <= 3:
        return "*" * len(compact)
    return "*" * (len(compact) - 3) + compact[-3:]


# A 12-digit run, contiguous or grouped 3-3-3-3 / 4-4-4 with one kind of separator.
# It must not be glued to other digits, nor follow a "+" (then it is a phone number).
_CCCD_IN_TEXT_RE = re.compile(
    r"(?<![0-9+])"
    r"(?:[0-9]{12}"
    r"|[0-9]{3}([ .\-])[0-9]{3}\1[0-9]{3}\1[0-9]{3}"
    r"|[0-9]{4}([ .\-])[0-9]{4}\2[0-9]{4})"
    r"(?![0-9])"
)

# Optional gap between two digits: one space, dot or dash, or a closing parenthesis
# (as in "(0234) 3823 456") possibly followed by a space.
_GAP = r"(?:[ .\-]|\) ?)?"
_PHONE_IN_TEXT_RE = re.compile(
    r"(?<![0-9+])"
    r"(?:"
    # International prefix, maybe with the trunk 0 ("+84 (0) 905 …", "+84 (234) …").
    r"(?:\+ ?84|0084|84)[ .\-]?(?:(?:\(0\)|0)[ .\-]?)?(?:\((?=[0-9]{2,3}\)))?"
    # National trunk 0; a "(" only when its ")" follows the code, as in "(0234) …".
    r"|\(0(?=[0-9]{1,3}\))|0[ .\-]?"
    r")"
    rf"(?:[35789](?:{_GAP}[0-9]){{8}}|2(?:{_GAP}[0-9]){{9}})"
    r"(?![0-9])"
)


def mask_pii(text: str) -> str:
    """Mask Vietnamese phone numbers and CCCD numbers inside free text.

    CCCD numbers (12 digits, contiguous or grouped 3-3-3-3 or 4-4-4) are masked
    first with :func:`mask_cccd`, so that they are not taken for phone numbers;
    then phone numbers (``+84``, ``84``, ``0084`` or ``0`` prefix, mobile or
    landline, with or without spaces, dots, dashes or parentheses between digit
    groups) are masked with :func:`mask_phone`.  All other text is left as is.

    >>> mask_pii("Gọi lại số 0905 123 456, CCCD 046085001234.")
    'Gọi lại số 090*****56, CCCD *********234.'
    """
    masked = _CCCD_IN_TEXT_RE.sub(lambda m: mask_cccd(m.group()), text)
    return _PHONE_IN_TEXT_RE.sub(lambda m: mask_phone(m.group()), masked)

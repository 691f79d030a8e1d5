"""Vietnamese text as residents really write it: accents or none, teencode, numbers as words."""

from __future__ import annotations

import re
import unicodedata

# Folded (accentless, lowercase) teencode and abbreviations -> folded standard words. Dialect
# words (mô, răng, rứa, chừ) are left to the training data: folded, they collide with common
# words ("mo" is also "mộ", a grave; "rang" is also "rằng").
TEENCODE: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "kg": "khong",
    "khg": "khong",
    "hok": "khong",
    "hong": "khong",
    "hem": "khong",
    "hk": "khong",
    "0k": "khong",
    "khum": "khong",
    "dc": "duoc",
    "dk": "duoc",
    "duoc": "duoc",
    "dcj": "duoc",
    "đc": "duoc",
    "j": "gi",
    "ji": "gi",
    "gj": "gi",
    "ak": "a",
    "ah": "a",
    "ạk": "a",
    "r": "roi",
    "rui": "roi",
    "oy": "roi",
    "ruj": "roi",
    "ntn": "nhu the nao",
    "bn": "bao nhieu",
    "bnh": "bao nhieu",
    "bh": "bao gio",
    "sdt": "so dien thoai",
    "sđt": "so dien thoai",
    "dt": "dien thoai",
    "đt": "dien thoai",
    "ad": "admin",
    "add": "admin",
    "mn": "moi nguoi",
    "mng": "moi nguoi",
    "vs": "voi",
    "mik": "minh",
    "mk": "minh",
    "mjk": "minh",
    "ng": "nguoi",
    "ngta": "nguoi ta",
    "nc": "nuoc",
    "dg": "duong",
    "đg": "duong",
    "p": "phuong",
    "tp": "thanh pho",
    "trc": "truoc",
    "cx": "cung",
    "cg": "cung",
    "z": "vay",
    "v": "vay",
    "zay": "vay",
    "thui": "thoi",
    "wa": "qua",
    "qa": "qua",
    "lun": "luon",
    "ns": "noi",
    "bik": "biet",
    "bit": "biet",
    "hnay": "hom nay",
    "hn": "hom nay",
    "hqua": "hom qua",
    "tks": "cam on",
    "thanks": "cam on",
    "thank": "cam on",
    "thx": "cam on",
    "ty": "cam on",
    "camon": "cam on",
    "cmon": "cam on",
    "ok": "ok",
    "oke": "ok",
    "okie": "ok",
    "okela": "ok",
    "uhm": "um",
    "uh": "u",
    "uk": "u",
    "uki": "u",
    "um": "u",
    "ae": "anh em",
    "ubnd": "uy ban",
    "cssk": "cham soc suc khoe",
    "gd": "gia dinh",
    "gđ": "gia dinh",
    "hs": "hoc sinh",
    "gv": "giao vien",
    "bv": "benh vien",
    "cs": "canh sat",
    "csgt": "canh sat giao thong",
    "xl": "xu ly",
    "pa": "phan anh",
    "fan": "phan",
    "phananh": "phan anh",
    "dky": "dang ky",
    "dki": "dang ky",
    "dk_": "dang ky",
    "đky": "dang ky",
    "ktra": "kiem tra",
    "kt": "kiem tra",
    "tt": "thong tin",
    "ttin": "thong tin",
    "hc": "hanh chinh",
    "bhyt": "bao hiem y te",
    "xin": "xin",
    "pls": "lam on",
    "plz": "lam on",
    "cc": "can cuoc",
    "cmnd": "chung minh nhan dan",
    "cccd": "can cuoc cong dan",
}

DIGIT_WORDS: dict[str, str] = {
    "khong": "0",
    "linh": "0",
    "le": "0",
    "mot": "1",
    "mốt": "1",
    "hai": "2",
    "ba": "3",
    "bon": "4",
    "tu": "4",
    "nam": "5",
    "lam": "5",
    "sau": "6",
    "bay": "7",
    "bẩy": "7",
    "tam": "8",
    "chin": "9",
}

_WORD = re.compile(r"[0-9a-z]+", re.ASCII)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)


def _fold_table() -> dict[int, str | None]:
    table: dict[int, str | None] = dict.fromkeys(_ZERO_WIDTH)
    for code in range(0x00C0, 0x1F00):
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if unicodedata.combining(ch):
            table[code] = None  # a loose combining mark (NFD input): dropped
        elif base != ch and len(base) == 1:
            table[code] = base
    for ch in "đĐðÐ":
        table[ord(ch)] = "d"
    return table


_FOLD = _fold_table()
# The same, but never changing the length (dropped characters become spaces), for matching
# that must map positions back to the original text.
_FOLD_SAME_LENGTH = {k: (v if v is not None else " ") for k, v in _FOLD.items()}


def fold_same_length(nfc: str) -> str:
    lowered = nfc.lower()
    if len(lowered) != len(nfc):  # a few non-Vietnamese letters lowercase to two characters
        lowered = "".join(ch.lower()[:1] for ch in nfc)
    return lowered.translate(_FOLD_SAME_LENGTH)


def fold(text: str) -> str:
    """Accentless and lowercase, whether the text came composed (NFC) or decomposed (NFD):
    "Huế" in either form gives "hue". One `str.translate` pass, so it is cheap."""
    return text.lower().translate(_FOLD)


def words(folded: str) -> list[str]:
    return _WORD.findall(folded)


def number_shape(token: str) -> str:
    """Numbers as shapes: any phone looks like any other phone to the classifier."""
    n = len(token)
    if n >= 12:
        return "<num12>"
    if n >= 9:
        return "<num10>"
    if n >= 5:
        return "<num5>"
    return "<num>"


def canonical_words(text: str) -> list[str]:
    """Folded words with teencode expanded and numbers reduced to their shape."""
    return canonical_words_folded(fold(text))


def canonical_words_folded(folded: str) -> list[str]:
    out: list[str] = []
    for token in words(folded):
        if token.isdigit():
            out.append(number_shape(token))
            continue
        expansion = TEENCODE.get(token)
        if expansion is None:
            out.append(token)
        else:
            out.extend(expansion.split())
    return out


def spoken_digits(folded_tokens: list[str]) -> str:
    """Digits from a run of digit words ("khong chin khong nam" -> "0905"), else ""."""
    return "".join(DIGIT_WORDS.get(t, "") for t in folded_tokens)

"""Entity extraction: patterns for phone, CCCD, case code, dates and amounts (also spoken as
words), the kiệt/hẻm part of an address, and lookups for Huế's wards and streets.

Matching runs on an accent-folded copy of the text that keeps a one-to-one character mapping,
so "phuong vy da", "Phường Vỹ Dạ" and its NFD form all match, and offsets point into the text
the resident sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.nlu.text import DIGIT_WORDS, fold, fold_same_length
from intake.services.codes import canonical_code
from intake.validation import ValidationError, normalize_phone, parse_cccd


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str
    value: Any


def _nfc_with_offsets(text: str) -> tuple[str, list[int]]:
    """NFC text plus, for each of its characters, the offset of its source in `text`."""
    if unicodedata.is_normalized("NFC", text):
        return text, list(range(len(text) + 1))
    out: list[str] = []
    offsets: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        composed = unicodedata.normalize("NFC", text[i:j])
        out.append(composed)
        offsets.extend([i] * len(composed))
        i = j
    offsets.append(len(text))
    return "".join(out), offsets


_CASE_CODE = re.compile(r"\b[a-z]{3}[\s-]?\d{6}[\s-]?\d{1,6}\b")
_CASE_DIGITS = re.compile(r"(?<![\d+])[1-9]\d{5}[\s-]?\d{4,5}(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+\s?84|0084|84|0)(?:[\s.\-]?\d){9,10}(?!\d)")
_CCCD = re.compile(r"(?<!\d)\d{3}[\s.]?\d{3}[\s.]?\d{3}[\s.]?\d{3}(?!\d)")
_DATE = re.compile(
    r"\b(?:ngay\s+)?(\d{1,2})\s*(?:[/.\-]|\s+thang\s+)\s*(\d{1,2})"
    r"(?:\s*(?:[/.\-]|\s+nam\s+)\s*(\d{4}|\d{2}))?\b"
)
_RELATIVE_DATE = re.compile(
    r"\b(hom nay|hom qua|hom kia|toi qua|toi nay|sang nay|chieu nay|dem qua|sang qua|bua ni|"
    r"bua qua|bua trc|ngay mai|mai)\b"
)
_AMOUNT = re.compile(r"\b(\d[\d.,]*)\s*(trieu|tr|nghin|ngan|k|dong|d|vnd|vnđ|ty)\b")
_AMOUNT_UNITS = {
    "trieu": 1_000_000,
    "tr": 1_000_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "k": 1_000,
    "ty": 1_000_000_000,
    "dong": 1,
    "d": 1,
    "vnd": 1,
    "vnđ": 1,
}
_ALLEY = re.compile(r"\b(kiet|hem|ngo|ngach)\s*(?:so\s*)?(\d+(?:\s*/\s*\d+)*)\b")
_PERSON_CUE = re.compile(
    r"\b(?:ho (?:va )?ten|ten (?:toi|em|minh|con|chau|cua toi)(?: la)?|"
    r"(?:toi|em|minh|con|chau) ten(?: la)?|toi la|em la|minh la)\s*[:,]?\s*"
)
_NAME_WORD = re.compile(r"[^\s\d,.;:!?()]+")
_DIGIT_WORD_RUN = re.compile(
    r"\b(?:(?:" + "|".join(sorted(DIGIT_WORDS, key=len, reverse=True)) + r")\s+){8,12}"
    r"(?:" + "|".join(sorted(DIGIT_WORDS, key=len, reverse=True)) + r")\b"
)
_TOKEN = re.compile(r"[a-z0-9]+")
_ANY_DIGIT = re.compile(r"\d")
_RELATIVE_DATE_WORDS = frozenset({"hom", "toi", "sang", "chieu", "dem", "bua", "mai"})
_ALLEY_WORDS = frozenset({"kiet", "hem", "ngo", "ngach"})
_PERSON_WORDS = frozenset({"ten", "la"})
_STREET_CUE = re.compile(r"(?:duong|pho|\d+|kiet\s*\d+(?:/\d+)*|hem\s*\d+)\s*$")


class Lookup:
    """Names matched word by word without regard to accents; each folded form maps to its proper
    spelling. Matching looks up word n-grams in a dict, so its cost does not grow with the list."""

    def __init__(self, names: Iterable[str]) -> None:
        canonical: dict[str, str] = {}
        for name in names:
            key = " ".join(_TOKEN.findall(fold(name)))
            if not key:
                continue
            # Prefer the spelling with diacritics as the value.
            if key not in canonical or (canonical[key].isascii() and not name.isascii()):
                canonical[key] = " ".join(name.split())
        self.canonical = canonical
        # First word -> the word counts of the names starting with it, longest first.
        starts: dict[str, set[int]] = {}
        for key in canonical:
            parts = key.split()
            starts.setdefault(parts[0], set()).add(len(parts))
        self.starts = {w: sorted(n, reverse=True) for w, n in starts.items()}

    def finditer(self, tokens: list[tuple[int, int, str]]) -> Iterable[tuple[int, int, str]]:
        """(start, end, canonical name) of each longest match, left to right."""
        words = [t[2] for t in tokens]
        count = len(words)
        i = 0
        while i < count:
            step = 1
            for n in self.starts.get(words[i], ()):
                if i + n > count:
                    continue
                name = self.canonical.get(" ".join(words[i : i + n]))
                if name is not None:
                    yield tokens[i][0], tokens[i + n - 1][1], name
                    step = n
                    break
            i += step


class EntityExtractor:
    def __init__(self, wards: Iterable[str], streets: Iterable[str], code_prefix: str = "HUE"):
        self.wards = Lookup(wards)
        self.streets = Lookup(streets)
        self.code_prefix = code_prefix

    def extract(self, text: str) -> list[dict[str, Any]]:
        nfc, offsets = _nfc_with_offsets(text)
        folded = fold_same_length(nfc)
        spans: list[Span] = []
        taken: list[tuple[int, int]] = []

        def add(start: int, end: int, entity: str, value: Any) -> None:
            if any(start < e and s < end for s, e in taken):
                return
            taken.append((start, end))
            spans.append(Span(start, end, entity, value))

        tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(folded)]
        words = {t[2] for t in tokens}
        # Cheap guards first: most messages have no digits, no kiệt, no name cue.
        if _ANY_DIGIT.search(folded):
            self._numbers(folded, add)
        if sum(1 for t in tokens if t[2] in DIGIT_WORDS) >= 9:
            for m in _DIGIT_WORD_RUN.finditer(folded):
                digits = "".join(DIGIT_WORDS[w] for w in m.group().split())
                self._spoken_number(add, m.start(), m.end(), digits)
        if words & _RELATIVE_DATE_WORDS:
            for m in _RELATIVE_DATE.finditer(folded):
                add(m.start(), m.end(), "date", nfc[m.start() : m.end()])
        if words & _ALLEY_WORDS:
            for m in _ALLEY.finditer(folded):
                add(m.start(), m.end(), "alley", nfc[m.start() : m.end()])
        self._places(folded, tokens, add)
        if words & _PERSON_WORDS:
            for m in _PERSON_CUE.finditer(folded):
                name = _name_after(nfc, m.end())
                if name is not None:
                    add(name[0], name[1], "person", nfc[name[0] : name[1]])

        spans.sort(key=lambda s: s.start)
        return [
            {
                "entity": s.entity,
                "start": offsets[s.start],
                "end": offsets[s.end],
                "value": s.value,
                "extractor": "EmbeddedEntityExtractor",
            }
            for s in spans
        ]

    def _numbers(self, folded: str, add: Any) -> None:
        for m in _CASE_CODE.finditer(folded):
            code = canonical_code(m.group(), self.code_prefix)
            if code and code.startswith(self.code_prefix.upper() + "-"):
                add(m.start(), m.end(), "case_code", code)
        for m in _CCCD.finditer(folded):
            try:
                add(m.start(), m.end(), "cccd", parse_cccd(m.group()).number)
            except ValidationError:
                continue
        for m in _PHONE.finditer(folded):
            try:
                add(m.start(), m.end(), "phone", normalize_phone(m.group()))
            except ValidationError:
                continue
        for m in _CASE_DIGITS.finditer(folded):
            code = canonical_code(m.group(), self.code_prefix)
            if code and _plausible_day(code):
                add(m.start(), m.end(), "case_code", code)
        for m in _AMOUNT.finditer(folded):
            add(m.start(), m.end(), "amount", _amount(m.group(1), m.group(2)))
        for m in _DATE.finditer(folded):
            parsed = _date(m.group(1), m.group(2), m.group(3))
            if parsed is not None:
                add(m.start(), m.end(), "date", parsed)

    def _spoken_number(self, add: Any, start: int, end: int, digits: str) -> None:
        if len(digits) == 12:
            try:
                add(start, end, "cccd", parse_cccd(digits).number)
                return
            except ValidationError:
                pass
        try:
            add(start, end, "phone", normalize_phone(digits))
        except ValidationError:
            code = canonical_code(digits, self.code_prefix)
            if code and _plausible_day(code):
                add(start, end, "case_code", code)

    def _places(self, folded: str, tokens: list[tuple[int, int, str]], add: Any) -> None:
        # A name that is both a street and a ward (Kim Long) is a street after "đường", a house
        # number or a kiệt, and a ward otherwise.
        ward_hits = {(start, end): name for start, end, name in self.wards.finditer(tokens)}
        for start, end, name in self.streets.finditer(tokens):
            before = folded[max(0, start - 12) : start]
            is_ward = (start, end) in ward_hits and not _STREET_CUE.search(before)
            if not is_ward:
                add(start, end, "street", name)
        for (start, end), name in ward_hits.items():
            add(start, end, "ward", name)


def _plausible_day(code: str) -> bool:
    digits = code.split("-")[1]
    try:
        date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return False
    return True


def _amount(number: str, unit: str) -> int:
    cleaned = (
        number.replace(".", "").replace(",", "")
        if unit in {"dong", "d", "vnd", "vnđ"} or (number.count(".") + number.count(",") > 1)
        else number.replace(",", ".")
    )
    try:
        value = float(cleaned)
    except ValueError:
        value = float(re.sub(r"\D", "", number) or 0)
    return round(value * _AMOUNT_UNITS[unit])


def _date(day: str, month: str, year: str | None) -> str | None:
    try:
        y = int(year) if year else None
        if y is not None and y < 100:
            y += 1900 if y > 30 else 2000
        parsed = date(y or 2000, int(month), int(day))
    except ValueError:
        return None
    return parsed.isoformat() if y else f"--{parsed:%m-%d}"


def _name_after(nfc: str, position: int) -> tuple[int, int] | None:
    """Two to five capitalised words right after a cue ("tên tôi là Nguyễn Văn An")."""
    cursor = position
    start = end = None
    count = 0
    while count < 5:
        match = _NAME_WORD.match(nfc, cursor)
        if match is None or not match.group()[0].isupper():
            break
        start = match.start() if start is None else start
        end = match.end()
        count += 1
        cursor = end
        while cursor < len(nfc) and nfc[cursor] == " ":
            cursor += 1
    if start is None or end is None or count < 2:
        return None
    return start, end

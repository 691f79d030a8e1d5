"""Vietnamese spoken numbers to figures, as a speech recogniser writes them on a phone line.

Input is what Vosk (or a caller typing) produces: lowercase words, with or without diacritics.
Nothing here raises on odd input: unreadable numbers give ``None`` or are left as words.

Vocabulary
    Digits không … chín (bảy/bẩy). After another number word only: mốt (1), tư (4), lăm/nhăm (5),
    so "ngày mốt" (the day after tomorrow) and "từ" stay words; "tư" also counts after "tháng" and
    "thứ" (April, Wednesday). linh/lẻ are 0 only between number words ("một trăm linh năm"), so
    "chị Linh" stays a name. mười (10), mươi (tens, after a digit), chục, hăm/băm (20/30 before a
    unit: "hăm mốt" = 21), trăm, nghìn/ngàn, triệu, tỷ/tỉ and rưỡi count only after a number word
    ("hàng nghìn người" stays words). A "không" standing alone is the word "no", except after "số".

Accents
    When the text carries any diacritic, number words must be spelt exactly, except unaccented
    spellings that are no other Vietnamese word ("khong", "chin", "muoi"); "sau", "nam", "bay",
    "tam", "lam", "tu", "le", "ty" are then words ("after", "south", ...). Text with no diacritic
    at all is matched folded, where "muoi" is mươi after a digit 2–9 and mười otherwise.

Cardinals (``cardinal``)
    Scales nest: "ba trăm năm mươi nghìn" = 350000, "một nghìn tỷ" = 10**12. Colloquial forms:
    a single digit after a scale or trăm is the next place ("một triệu hai" = 1200000, "hai trăm
    mốt" = 210); rưỡi is half the unit before it ("hai triệu rưỡi" = 2500000, "trăm rưỡi" = +50);
    "linh/lẻ/không" marks skipped places ("một nghìn linh năm" = 1005); a digit followed by
    mốt/tư/lăm/nhăm is its tens ("hai mốt" = 21, "ba lăm" = 35; "hai ba" is not 23).

Digit strings (``digits``)
    Each number word is read as written, digit by digit, with grouped readings: a run that forms
    a number contributes its figures, taking the longest such run first, so "X mươi Y" gives two
    digits (10X+Y), "X mươi" gives X0, "mười Y" gives 1Y, "X trăm Y mươi Z" three digits, "X trăm
    linh Y" X0Y, and a run with nghìn/triệu/tỷ its full value. "không chín mươi lăm" = "095".
    Pauses, commas and fillers (à, ờ, thì, là, ...) do not break a number; when other words split
    the text into several numbers, the longest is returned (the last of equal length, since
    callers correct themselves). Figures already in the text count too.

Text (``normalise``)
    Each run of adjacent number words becomes figures. A run holding mươi/mười/chục/trăm/nghìn/
    triệu/tỷ/rưỡi/hăm/băm and not starting with "không" is read as a cardinal if it is one
    ("hai mươi mốt" → 21); otherwise (plain digit words, "không ..." starts, or several numbers
    back to back) it is read as a digit string. Comma-separated groups are joined into one digit
    string when the first starts with "không" or all have two or more plain digit words (a phone
    number read in groups); otherwise each group is read alone ("hai, ba" → "2, 3").
    "năm" is the noun "year" at the start of a run followed by a year (four digits starting
    một/hai, two digits, or a cardinal 10–99 or 1000–2999: "sinh năm một chín tám lăm" → "sinh năm
    1985"); after a month ("tháng năm năm 1998"); after mỗi/hàng/các/mấy/... ("mỗi năm một
    lần"); closing a run whose rest is a cardinal that either cannot take it or, within three
    words, ends in mười/mươi/chục/trăm or a scale ("hai năm" → "2 năm", "hai mươi năm" → "20
    năm"). A lone "năm" is the noun unless after tháng/số/thứ/ngày/kiệt/phím/...; a lone digit
    after anh/chị/chú/cô/bác/ông/bà/út/... is a name ("chị Ba"), and "ba" before "mẹ"/"tôi"/"ơi"/...
    is "dad". Text with no number is returned unchanged; otherwise the result is in NFC.

Dates (``spoken_date``)
    "[ngày|mùng|mồng] DAY tháng MONTH năm YEAR", the day a cardinal 1–31 (shorthand allowed:
    "hai mốt"), the month 1–12 or giêng/chạp, the year four digits, a cardinal 1900–2099, or two
    digits (00–39 → 2000s, 40–99 → 1900s). Without a day or a year there is no date: None.
"""

from __future__ import annotations

import datetime
import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

__all__ = ["cardinal", "digits", "normalise", "spoken_date"]


class _Kind(enum.Enum):
    DIGIT = enum.auto()
    TEN = enum.auto()  # mười
    TENS = enum.auto()  # mươi
    CHUC = enum.auto()  # chục
    SHORT_TENS = enum.auto()  # hăm, băm
    HUNDRED = enum.auto()
    SCALE = enum.auto()  # nghìn, triệu, tỷ
    HALF = enum.auto()  # rưỡi


class _Gate(enum.Enum):
    FREE = enum.auto()
    AFTER_NUMBER = enum.auto()
    BETWEEN_NUMBERS = enum.auto()
    BEFORE_UNIT = enum.auto()
    MUOI = enum.auto()  # unaccented "muoi": mươi after a digit 2–9, mười otherwise


@dataclass(frozen=True, slots=True)
class _Num:
    kind: _Kind
    value: int
    alt: bool = False  # mốt/tư/lăm/nhăm: a unit that marks the digit before it as tens


_MULTIPLIERS = frozenset(
    {
        _Kind.TEN,
        _Kind.TENS,
        _Kind.CHUC,
        _Kind.SHORT_TENS,
        _Kind.HUNDRED,
        _Kind.SCALE,
        _Kind.HALF,
    }
)
_D = _Kind.DIGIT
_FREE, _AFTER = _Gate.FREE, _Gate.AFTER_NUMBER

_VOCAB: dict[str, tuple[_Num, _Gate]] = {
    "không": (_Num(_D, 0), _FREE),
    "một": (_Num(_D, 1), _FREE),
    "hai": (_Num(_D, 2), _FREE),
    "ba": (_Num(_D, 3), _FREE),
    "bốn": (_Num(_D, 4), _FREE),
    "năm": (_Num(_D, 5), _FREE),
    "sáu": (_Num(_D, 6), _FREE),
    "bảy": (_Num(_D, 7), _FREE),
    "bẩy": (_Num(_D, 7), _FREE),
    "tám": (_Num(_D, 8), _FREE),
    "chín": (_Num(_D, 9), _FREE),
    "mốt": (_Num(_D, 1, alt=True), _AFTER),
    "tư": (_Num(_D, 4, alt=True), _AFTER),
    "lăm": (_Num(_D, 5, alt=True), _AFTER),
    "nhăm": (_Num(_D, 5, alt=True), _AFTER),
    "linh": (_Num(_D, 0), _Gate.BETWEEN_NUMBERS),
    "lẻ": (_Num(_D, 0), _Gate.BETWEEN_NUMBERS),
    "mười": (_Num(_Kind.TEN, 10), _FREE),
    "mươi": (_Num(_Kind.TENS, 10), _AFTER),
    "chục": (_Num(_Kind.CHUC, 10), _AFTER),
    "hăm": (_Num(_Kind.SHORT_TENS, 20), _Gate.BEFORE_UNIT),
    "băm": (_Num(_Kind.SHORT_TENS, 30), _Gate.BEFORE_UNIT),
    "trăm": (_Num(_Kind.HUNDRED, 100), _AFTER),
    "nghìn": (_Num(_Kind.SCALE, 1000), _AFTER),
    "ngàn": (_Num(_Kind.SCALE, 1000), _AFTER),
    "triệu": (_Num(_Kind.SCALE, 10**6), _AFTER),
    "tỷ": (_Num(_Kind.SCALE, 10**9), _AFTER),
    "tỉ": (_Num(_Kind.SCALE, 10**9), _AFTER),
    "rưỡi": (_Num(_Kind.HALF, 0), _AFTER),
}

# Unaccented spellings that are other words in accented text.
_PLAIN_HOMOGRAPHS = frozenset(
    {"sau", "nam", "bay", "tam", "lam", "tu", "le", "ty", "ti", "ngan", "ham", "bam"}
)
_MAX_CARDINAL_WORDS = 30
_MAX_CHUNK_WORDS = 10
_CENTURY_PIVOT = 40  # two-digit years below it are 20xx


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


def _folded_vocab() -> dict[str, tuple[_Num, _Gate]]:
    folded: dict[str, tuple[_Num, _Gate]] = {}
    for word, entry in _VOCAB.items():
        folded.setdefault(_fold(word), entry)
    folded["muoi"] = (_Num(_Kind.TEN, 10), _Gate.MUOI)
    folded["mot"] = (_Num(_D, 1, alt=True), _FREE)  # một or mốt
    return folded


_FOLDED_VOCAB = _folded_vocab()


@dataclass(frozen=True, slots=True)
class _Cues:
    accented: frozenset[str]
    plain: frozenset[str]


def _cues(words: str) -> _Cues:
    """Cue words, given space-separated."""
    listed = words.split()
    return _Cues(frozenset(listed), frozenset(_fold(w) for w in listed))


_YEAR = _cues("năm")
_MONTH = _cues("tháng")
_FOUR_CUES = _cues("tháng thứ")
_NUMBER_CUE = _cues("số")
# Words after which a lone "năm" is five, not "year": dates, numbering, addresses, keys.
_LONE_FIVE_CUES = _cues(
    "tháng số thứ ngày mùng mồng kiệt hẻm ngõ ngách nhà phòng tầng lầu tổ khu phím bấm chọn"
)
_ADDRESS_TERMS = _cues("anh chị chú cô bác ông bà út dì cậu thím mợ dượng")
_YEAR_DETERMINERS = _cues("mỗi hàng hằng các những nhiều mấy vài cả")
_DAD_CUES = _cues("mẹ má tôi mình ơi nó")
_FILLERS = _cues("à ừ ờ ơ ừm ờm ạ thì là và với rồi nhé nha hả")
_LUNAR_MONTHS = {"giêng": 1, "chạp": 12, "gieng": 1, "chap": 12}

_TOKEN = re.compile(r"[^\W\d_]+|[0-9]+")


@dataclass(frozen=True, slots=True)
class _Tok:
    start: int
    end: int
    word: str  # lowercase NFC surface
    gap: str  # what separates it from the token before: start, space, comma or break
    num: _Num | None = None  # set when the word counts as a number word here
    figure: str = ""  # set when the token is written in figures


@dataclass(frozen=True, slots=True)
class _Text:
    source: str  # the NFC text the offsets point into
    toks: tuple[_Tok, ...]
    accented: bool

    def word_is(self, i: int, cues: _Cues) -> bool:
        if not 0 <= i < len(self.toks):
            return False
        word = self.toks[i].word
        return word in cues.accented if self.accented else word in cues.plain

    def nums(self, indices: Sequence[int]) -> list[_Num]:
        return [n for i in indices if (n := self.toks[i].num) is not None]


def _base_entry(word: str, accented: bool) -> tuple[_Num, _Gate] | None:
    if not accented:
        return _FOLDED_VOCAB.get(word)
    entry = _VOCAB.get(word)
    if entry is None and word not in _PLAIN_HOMOGRAPHS and _fold(word) == word:
        entry = _FOLDED_VOCAB.get(word)
    return entry


def _gap(between: str) -> str:
    stripped = between.strip()
    return "space" if not stripped else "comma" if stripped == "," else "break"


def _lex(text: str) -> _Text:
    source = unicodedata.normalize("NFC", text)
    lowered = source.lower()
    accented = _fold(lowered) != lowered
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(source):
        gap = _gap(source[toks[-1].end : m.start()]) if toks else "start"
        word = m.group().lower()
        figure = word if word.isascii() and word.isdigit() else ""
        toks.append(_Tok(m.start(), m.end(), word, gap, figure=figure))
    unread = _Text(source, tuple(toks), accented)
    nums = _gated(unread, [None if t.figure else _base_entry(t.word, accented) for t in toks])
    toks = [replace(t, num=n) for t, n in zip(toks, nums, strict=True)]
    lexed = _Text(source, tuple(toks), accented)
    # A "không" on its own is the word "no" ("không, số tôi là ..."), unless it follows "số".
    for group in _groups(lexed):
        tok = toks[group[0]]
        if (
            len(group) == 1
            and tok.num is not None
            and _is_zero(tok.num)
            and _fold(tok.word) == "khong"
            and not (tok.gap == "space" and lexed.word_is(group[0] - 1, _NUMBER_CUE))
        ):
            toks[group[0]] = replace(tok, num=None)
    return _Text(source, tuple(toks), accented)


def _gated(t: _Text, bases: list[tuple[_Num, _Gate] | None]) -> list[_Num | None]:
    """Which candidate number words count here, from the words next to them."""
    nums: list[_Num | None] = []
    for i, entry in enumerate(bases):
        if entry is None:
            nums.append(None)
            continue
        num, gate = entry
        adjacent = i > 0 and t.toks[i].gap == "space"
        prev = nums[i - 1] if adjacent else None
        nxt = bases[i + 1] if i + 1 < len(bases) and t.toks[i + 1].gap == "space" else None
        next_unit = nxt is not None and nxt[0].kind is _D and nxt[0].value >= 1
        if gate is _Gate.AFTER_NUMBER:
            four_cue = num.value == 4 and adjacent and t.word_is(i - 1, _FOUR_CUES)
            keep = prev is not None or four_cue
        elif gate is _Gate.BETWEEN_NUMBERS:
            # "linh tư" is said, "linh mốt"/"linh lăm" are not.
            keep = prev is not None and nxt is not None and next_unit
            keep = keep and nxt is not None and (nxt[1] is _FREE or nxt[0].value == 4)
        elif gate is _Gate.BEFORE_UNIT:
            keep = next_unit
        else:
            keep = True
            if gate is _Gate.MUOI and prev is not None and prev.kind is _D and prev.value >= 2:
                num = _Num(_Kind.TENS, 10)
        nums.append(num if keep else None)
    return nums


def _groups(t: _Text) -> list[list[int]]:
    """Runs of adjacent number words (token indices), split at any punctuation."""
    groups: list[list[int]] = []
    current: list[int] = []
    for i, tok in enumerate(t.toks):
        if tok.num is not None and current and tok.gap == "space":
            current.append(i)
            continue
        if current:
            groups.append(current)
        current = [i] if tok.num is not None else []
    if current:
        groups.append(current)
    return groups


def _runs(t: _Text) -> list[list[list[int]]]:
    """Groups joined across commas, as a phone number read in groups is."""
    runs: list[list[list[int]]] = []
    for group in _groups(t):
        if runs and runs[-1][-1][-1] == group[0] - 1 and t.toks[group[0]].gap == "comma":
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def _is_zero(num: _Num) -> bool:
    return num.kind is _D and num.value == 0


# Cardinal grammar ------------------------------------------------------------------------------


def _cardinal(nums: Sequence[_Num], colloquial: bool = True) -> int | None:
    if not nums or len(nums) > _MAX_CARDINAL_WORDS:
        return None
    scales = [n.value for n in nums if n.kind is _Kind.SCALE]
    if not scales:
        return _below_thousand(nums, colloquial)
    top = max(scales)
    at = max(i for i, n in enumerate(nums) if n.kind is _Kind.SCALE and n.value == top)
    left = _cardinal(nums[:at], colloquial)
    # Only tỷ takes a scale before it: "một nghìn tỷ", never "một nghìn nghìn".
    if left is None or left == 0 or left >= (10**9 if top == 10**9 else 1000):
        return None
    rest = _after_scale(nums[at + 1 :], top, colloquial)
    return None if rest is None else left * top + rest


def _after_scale(rest: Sequence[_Num], unit: int, colloquial: bool) -> int | None:
    if not rest:
        return 0
    first = rest[0]
    if len(rest) == 1 and first.kind is _Kind.HALF:
        return unit // 2
    if colloquial and len(rest) == 1 and first.kind is _D and first.value > 0:
        return first.value * unit // 10  # "một triệu hai" = 1 200 000
    if _is_zero(first) and len(rest) > 1 and rest[1].kind is not _Kind.HUNDRED:
        skipped = _cardinal(rest[1:], colloquial=False)  # "một nghìn linh năm" = 1005
        return skipped if skipped is not None and 0 < skipped < unit // 10 else None
    value = _cardinal(rest, colloquial=False)
    return value if value is not None and value < unit else None


def _below_thousand(nums: Sequence[_Num], colloquial: bool) -> int | None:
    hundreds = [i for i, n in enumerate(nums) if n.kind is _Kind.HUNDRED]
    if not hundreds:
        return _tens(nums, colloquial)
    if hundreds != [1] or nums[0].kind is not _D:
        return None
    base = nums[0].value * 100
    rest = nums[2:]
    if not rest:
        return base
    if len(rest) == 1 and rest[0].kind is _Kind.HALF:
        return base + 50
    if len(rest) == 1 and rest[0].kind is _D:
        if colloquial and rest[0].value > 0:
            return base + rest[0].value * 10  # "hai trăm mốt" = 210
        return None
    if _is_zero(rest[0]):
        if len(rest) == 2 and rest[1].kind is _D and rest[1].value > 0:
            return base + rest[1].value
        return None
    tens = _tens(rest, colloquial=False)
    return base + tens if tens is not None and tens >= 10 else None


def _tens(nums: Sequence[_Num], colloquial: bool) -> int | None:
    first = nums[0]
    if len(nums) == 1:
        if first.kind is _D:
            return first.value
        return 10 if first.kind is _Kind.TEN else None
    second = nums[1]
    unit_after = len(nums) == 2 and second.kind is _D and second.value > 0
    if first.kind is _Kind.TEN:
        return 10 + second.value if unit_after else None
    if first.kind is _Kind.SHORT_TENS:
        return first.value + second.value if unit_after else None
    if first.kind is not _D:
        return None
    if second.kind is _Kind.TENS and first.value >= 2:
        if len(nums) == 2:
            return first.value * 10
        last = nums[2]
        if len(nums) == 3 and last.kind is _D and last.value > 0:
            return first.value * 10 + last.value
        return None
    if second.kind is _Kind.CHUC and len(nums) == 2 and first.value >= 1:
        return first.value * 10
    if colloquial and unit_after and second.alt and first.value >= 2:
        return first.value * 10 + second.value  # "hai mốt" = 21
    return None


# Digit strings ---------------------------------------------------------------------------------


def _chunk_digits(chunk: Sequence[_Num]) -> str | None:
    if len(chunk) == 1 and chunk[0].kind is _D:
        return str(chunk[0].value)
    value = _cardinal(chunk, colloquial=False)
    if value is None:
        return None
    kinds = {n.kind for n in chunk}
    if _Kind.SCALE in kinds:
        return None if _is_zero(chunk[0]) else str(value)
    return f"{value:03d}" if _Kind.HUNDRED in kinds else f"{value:02d}"


def _digit_string(nums: Sequence[_Num], strict: bool) -> str | None:
    """Digit-by-digit reading; a run that forms a number gives its figures, longest run first."""
    out: list[str] = []
    i = 0
    while i < len(nums):
        for j in range(min(len(nums), i + _MAX_CHUNK_WORDS), i, -1):
            chunk = _chunk_digits(nums[i:j])
            if chunk is not None:
                out.append(chunk)
                i = j
                break
        else:
            if strict:
                return None
            i += 1
    return "".join(out)


def _is_plain(nums: Sequence[_Num]) -> bool:
    return all(n.kind not in _MULTIPLIERS for n in nums)


def _read(nums: Sequence[_Num]) -> str | None:
    """The figures for one run of number words, by the rule in the module docstring."""
    if not nums:
        return None
    if not _is_plain(nums) and not _is_zero(nums[0]):
        value = _cardinal(nums)
        if value is not None:
            return str(value)
    return _digit_string(nums, strict=True)


# Public API ------------------------------------------------------------------------------------


def digits(text: str) -> str | None:
    """The digit string a caller spoke ("không chín không năm ..." → "0905..."), or None."""
    t = _lex(text)
    numbers: list[str] = []
    parts: list[str] = []
    group: list[_Num] = []

    def close_group() -> None:
        if group:
            parts.append(_digit_string(group, strict=False) or "")
            group.clear()

    for i, tok in enumerate(t.toks):
        if tok.num is not None:
            if tok.gap != "space":
                close_group()
            group.append(tok.num)
            continue
        close_group()
        if tok.figure:
            parts.append(tok.figure)
        elif not t.word_is(i, _FILLERS) and parts:
            numbers.append("".join(parts))
            parts.clear()
    close_group()
    numbers.append("".join(parts))
    numbers = [n for n in numbers if n]
    if not numbers:
        return None
    return max(reversed(numbers), key=len)


def cardinal(text: str) -> int | None:
    """The value of the one cardinal number phrase in the text ("hai triệu rưỡi" → 2500000).

    None when there is no number, more than one, or a digit string ("không chín ..."). Words
    that ``normalise`` keeps ("năm nay", "chị Ba") are not numbers here either; a closing "năm"
    is: "hai mươi năm" = 25.
    """
    t = _lex(text)
    groups = _groups(t)
    if len(groups) == 1 and len(groups[0]) == len(t.toks):
        pieces = groups  # nothing but the number: "năm" is five
    else:
        pieces = [p for g in groups for p in _pieces(t, g, closing_year=False)]
    if len(pieces) != 1:
        return None
    nums = t.nums(pieces[0])
    if len(nums) > 1 and _is_zero(nums[0]):
        return None
    return _cardinal(nums)


def spoken_date(text: str) -> datetime.date | None:
    """The first full date spoken in the text ("ngày hai mươi mốt tháng ba năm hai nghìn không
    trăm linh năm" → 2005-03-21), or None."""
    t = _lex(text)
    for i in range(len(t.toks)):
        if t.word_is(i, _MONTH):
            found = _date_at(t, i)
            if found is not None:
                return found
    return None


def normalise(text: str) -> str:
    """The text with each run of number words replaced by figures ("tôi sinh năm một chín tám
    lăm" → "tôi sinh năm 1985"); rules in the module docstring."""
    t = _lex(text)
    replacements: list[tuple[int, int, str]] = []
    for run in _runs(t):
        joined = _read_joined(t, run)
        if joined is not None:
            replacements.append((t.toks[run[0][0]].start, t.toks[run[-1][-1]].end, joined))
            continue
        for group in run:
            for piece in _pieces(t, group):
                reading = _read(t.nums(piece))
                if reading is not None:
                    replacements.append((t.toks[piece[0]].start, t.toks[piece[-1]].end, reading))
    if not replacements:
        return text
    out = t.source
    for start, end, figures in reversed(replacements):
        out = out[:start] + figures + out[end:]
    return out


# Text and date helpers -------------------------------------------------------------------------


def _read_joined(t: _Text, run: list[list[int]]) -> str | None:
    if len(run) < 2:
        return None
    groups = [t.nums(g) for g in run]
    phone_like = _is_zero(groups[0][0]) or all(len(g) >= 2 and _is_plain(g) for g in groups)
    if not phone_like:
        return None
    readings = [_digit_string(g, strict=True) for g in groups]
    if any(r is None for r in readings):
        return None
    return "".join(r for r in readings if r is not None)


def _pieces(t: _Text, group: list[int], closing_year: bool = True) -> list[list[int]]:
    """The group cut where "năm" is the noun "year", without lone words that are not numbers."""
    pieces = [group]
    if t.toks[group[0]].gap == "space" and t.word_is(group[0] - 1, _MONTH):
        for k in range(min(3, len(group) - 2), 0, -1):
            if t.word_is(group[k], _YEAR) and _month(t.nums(group[:k])) is not None:
                pieces = [group[:k], group[k + 1 :]]
                break
    out: list[list[int]] = []
    for piece in pieces:
        if t.word_is(piece[0], _YEAR) and t.word_is(piece[0] - 1, _YEAR_DETERMINERS):
            piece = piece[1:]  # "mỗi năm một lần"
            if not piece:
                continue
        if len(piece) >= 3 and t.word_is(piece[0], _YEAR) and _looks_like_year(t.nums(piece[1:])):
            piece = piece[1:]
        closes = closing_year and len(piece) >= 2 and t.word_is(piece[-1], _YEAR)
        if closes and _year_closes(t.nums(piece)):
            piece = piece[:-1]
        if len(piece) == 1 and not _lone_is_number(t, piece[0]):
            continue
        out.append(piece)
    return out


def _lone_is_number(t: _Text, i: int) -> bool:
    before = i - 1 if t.toks[i].gap == "space" else -1
    after = i + 1 if i + 1 < len(t.toks) and t.toks[i + 1].gap == "space" else -1
    if t.word_is(i, _YEAR):
        return t.word_is(before, _LONE_FIVE_CUES)
    num = t.toks[i].num
    if num is not None and num.kind is _D and t.word_is(before, _ADDRESS_TERMS):
        return False  # a birth-order name: "chị Ba", "chú Năm"
    return not (t.toks[i].word == "ba" and t.word_is(after, _DAD_CUES))


def _looks_like_year(nums: Sequence[_Num]) -> bool:
    if len(nums) < 2 or _is_zero(nums[0]):
        return False
    if _is_plain(nums):
        figures = "".join(str(n.value) for n in nums)
        return len(figures) == 2 or (len(figures) == 4 and figures[0] in "12")
    value = _cardinal(nums, colloquial=False)
    return value is not None and (10 <= value <= 99 or 1000 <= value <= 2999)


def _year_closes(nums: Sequence[_Num]) -> bool:
    """Whether a closing "năm" is the noun: "hai năm" (two years), "hai mươi năm"."""
    prefix = nums[:-1]
    if _is_zero(prefix[0]) or _cardinal(prefix) is None:
        return False
    ends_in_multiplier = prefix[-1].kind in _MULTIPLIERS and prefix[-1].kind is not _Kind.HALF
    return _cardinal(nums) is None or (len(nums) <= 3 and ends_in_multiplier)


def _month(nums: Sequence[_Num]) -> int | None:
    if not nums or _is_zero(nums[0]):
        return None
    value = _cardinal(nums, colloquial=False)
    return value if value is not None and 1 <= value <= 12 else None


def _day(nums: Sequence[_Num]) -> int | None:
    if not nums or _is_zero(nums[0]):
        return None
    value = _cardinal(nums)
    return value if value is not None and 1 <= value <= 31 else None


def _year(nums: Sequence[_Num]) -> int | None:
    if not nums:
        return None
    figures: str | None
    if _is_plain(nums):
        figures = "".join(str(n.value) for n in nums)
    else:
        value = _cardinal(nums, colloquial=False) if not _is_zero(nums[0]) else None
        if value is not None and value >= 1000:
            return value if 1900 <= value <= 2099 else None
        figures = f"{value:02d}" if value is not None and value >= 10 else None
        if figures is None:
            figures = _digit_string(nums, strict=True)
    if figures is None:
        return None
    if len(figures) == 2:
        short = int(figures)
        return 2000 + short if short < _CENTURY_PIVOT else 1900 + short
    if len(figures) == 4 and 1900 <= int(figures) <= 2099:
        return int(figures)
    return None


def _number_run(t: _Text, start: int, allow_comma: bool) -> list[int]:
    run: list[int] = []
    i = start
    gaps = ("space", "comma") if allow_comma else ("space",)
    while i < len(t.toks) and t.toks[i].num is not None and t.toks[i].gap in gaps:
        run.append(i)
        i += 1
    return run


def _date_at(t: _Text, month_at: int) -> datetime.date | None:
    first = month_at
    while first > 0 and t.toks[first - 1].num is not None and t.toks[first].gap == "space":
        first -= 1
    day = _day(t.nums(range(first, month_at)))
    if day is None:
        return None
    month: int | None = None
    rest: list[int] = []
    lunar = _LUNAR_MONTHS.get(t.toks[month_at + 1].word) if month_at + 1 < len(t.toks) else None
    if lunar is not None and t.toks[month_at + 1].gap == "space":
        month = lunar
        after = _number_run(t, month_at + 2, allow_comma=True)
        if after and t.word_is(after[0], _YEAR):
            rest = after[1:]
    else:
        after = _number_run(t, month_at + 1, allow_comma=True)
        for k in range(min(3, len(after)), 0, -1):
            month = _month(t.nums(after[:k]))
            if month is not None and k < len(after) and t.word_is(after[k], _YEAR):
                rest = after[k + 1 :]
                break
    year = _year(t.nums(rest))
    if month is None or year is None:
        return None
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None

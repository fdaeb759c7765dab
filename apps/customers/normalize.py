"""Text keys for customers: the anti-collision name key, pinyin columns, phone digits.

`normalize_name` is the one definition of "the same company name" (DESIGN §2, 撞单): the
`Customer.name_normalized` column holds its result under a unique constraint, so the database
itself refuses a second "北京华东机电有限公司" once "北京 华东 机电（有限公司）" exists.

Rules, in order:
1. Unicode NFKC (full-width ＡＢＣ１２３（） → half-width ABC123()) and case folding.
2. Punctuation, symbols and white space of every script (ASCII, 、，。（）【】《》·…)
   separate words.
3. Legal-form suffixes are dropped from the end, repeatedly: Chinese ones (有限公司, 股份有限公司,
   有限责任公司, 集团有限公司, 公司 …) glued to the last word, Latin ones (Co., Ltd., Co Ltd,
   Limited, Inc, Corp, LLC …) as whole trailing words — "Costco" keeps its "co".
4. The remaining words are joined without separators.
A name that is nothing but a suffix ("公司", "Limited") keeps its words rather than become empty.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import chain

from pypinyin import Style
from pypinyin.core import Pinyin

# Longest first: "股份有限公司" must win over "有限公司", which must win over "公司".
CJK_SUFFIXES = sorted(
    [
        "集团股份有限公司",
        "股份有限公司",
        "有限责任公司",
        "集团有限公司",
        "集团公司",
        "有限公司",
        "总公司",
        "公司",
    ],
    key=len,
    reverse=True,
)
# Whole trailing words (after punctuation became spaces): "Co., Ltd." → ["co", "ltd"].
LATIN_SUFFIX_WORDS = frozenset(
    {
        "co",
        "company",
        "ltd",
        "limited",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "llc",
        "plc",
        "gmbh",
        "lp",
        "llp",
        "pte",
        "pty",
    }
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A Latin suffix glued to Chinese text: "华东机电Co" (the punctuation before it was missing).
_GLUED_LATIN = re.compile(
    rf"(?<=[{_CJK}])(" + "|".join(sorted(LATIN_SUFFIX_WORDS, key=len, reverse=True)) + r")$"
)


def _words(text: str) -> list[str]:
    """NFKC + casefold, then split on anything that is not a letter, digit or mark."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    out, word = [], []
    for ch in text:
        if unicodedata.category(ch)[0] in "LNM":
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def _strip_suffix(words: list[str]) -> bool:
    """Drop one suffix from the end of `words` (in place); True if something was dropped."""
    last = words[-1]
    if last in LATIN_SUFFIX_WORDS:
        words.pop()
        return True
    for suffix in CJK_SUFFIXES:
        if last.endswith(suffix):
            rest = last[: -len(suffix)]
            if rest:
                words[-1] = rest
            else:
                words.pop()
            return True
    match = _GLUED_LATIN.search(last)
    if match:
        words[-1] = last[: match.start()]
        return True
    return False


@lru_cache(maxsize=4096)
def normalize_name(name: str) -> str:
    """The anti-collision key of a company name (see the module docstring)."""
    words = _words(name)
    if not words:
        return ""
    kept = list(words)
    while kept and _strip_suffix(kept):
        pass
    return "".join(kept or words)


def normalize_query(text: str) -> str:
    """A search box entry in the same shape as the stored keys, without dropping suffixes
    (someone typing "有限公司" looks for that text, not for everything)."""
    return "".join(_words(text))


_HANZI_RUN = re.compile(rf"[{_CJK}]+")
_PINYIN = Pinyin()


@lru_cache(maxsize=65_536)
def _word_syllables(word: str) -> tuple[str, ...]:
    return tuple(
        chain(*_PINYIN._converter.convert(word, Style.NORMAL, False, "ignore", strict=True))
    )


def _run_syllables(run: str) -> list[str]:
    """`pypinyin.lazy_pinyin(run, style=NORMAL, errors="ignore")`, with the conversion of each
    segmented word cached: company names repeat their words (城市, 科技, 机电 …), and the
    conversion, not the segmentation, is most of pypinyin's time (≈ 4× faster on imports)."""
    return [s for word in _PINYIN.seg(run) for s in _word_syllables(word)]


@lru_cache(maxsize=8192)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of `text`, lower case, letters and digits only.

    张三 → ("zhangsan", "zs"); Latin words and digits count whole in both ("IBM中国" →
    "ibmzhongguo", "ibmzg"), so typing the Latin part works against either column.
    """
    text = unicodedata.normalize("NFKC", text or "")
    full, initials = [], []
    pos = 0
    for match in _HANZI_RUN.finditer(text):
        for word in _words(text[pos : match.start()]):
            full.append(word)
            initials.append(word)
        # Whole runs, so pypinyin's phrase table picks readings (重庆 → chongqing).
        for syllable in _run_syllables(match.group()):
            syllable = syllable.lower()
            if syllable:
                full.append(syllable)
                initials.append(syllable[0])
        pos = match.end()
    for word in _words(text[pos:]):
        full.append(word)
        initials.append(word)
    return "".join(full)[:300], "".join(initials)[:100]


def digits(phone: str) -> str:
    """Digits of a phone number, without a leading China country code: "+86 138-0000 1234" →
    "13800001234"."""
    only = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone or ""))
    if only.startswith("0086"):
        only = only[4:]
    elif only.startswith("86") and len(only) == 13:
        only = only[2:]
    return only[:30]

"""The Kiswahili catalogue is complete and its compiled .mo is current."""

import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "sw" / "LC_MESSAGES" / "django.po"


def _entries(text: str):
    """(msgid, [msgstr...], flags, msgctxt or None) for every entry but the header."""
    def unquote(chunk: str) -> str:
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', chunk)).encode().decode("unicode_escape").encode("latin-1").decode()

    for block in text.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        flags = " ".join(line for line in lines if line.startswith("#,"))
        body = "\n".join(line for line in lines if not line.startswith("#"))
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', body, re.M)
        if not msgid:
            continue
        msgid = unquote(msgid.group(1))
        if not msgid:
            continue  # header
        strs = [unquote(m) for m in re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', body, re.M)]
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', body, re.M)
        yield msgid, strs, flags, unquote(context.group(1)) if context else None


def test_every_string_is_translated():
    entries = list(_entries(PO.read_text()))
    assert len(entries) > 150
    untranslated = [m for m, strs, flags, _ctx in entries if not all(strs) or "fuzzy" in flags]
    assert untranslated == [], "translate these in locale/sw/LC_MESSAGES/django.po, then compilemessages"


def test_compiled_catalogue_matches_the_po():
    with open(PO.with_suffix(".mo"), "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for msgid, strs, _flags, context in _entries(PO.read_text()):
        if len(strs) == 1:
            got = compiled.pgettext(context, msgid) if context else compiled.gettext(msgid)
            assert got == strs[0], f"run compilemessages: {msgid!r}"

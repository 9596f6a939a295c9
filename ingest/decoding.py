"""Bytes to text for plain-text formats, with the encoding found by charset-normalizer."""

from __future__ import annotations

from charset_normalizer import from_bytes

from ingest.errors import UndecodableText

_BOMS = {b"\xef\xbb\xbf": "utf-8-sig", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}
# Chinese legacy files are GB18030/GBK; a detector may name a sibling code page that decodes them the same.
_PREFERRED = ("utf_8", "gb18030", "cp1252", "latin_1")


def decode_text(data: bytes) -> str:
    """Decode `data`, trying UTF-8 first (it almost never decodes by accident), then the detector."""
    for bom, codec in _BOMS.items():
        if data.startswith(bom):
            return data.decode(codec)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:4096]:
        raise UndecodableText("binary content (NUL bytes), not text")
    matches = from_bytes(data, cp_isolation=None)
    best = matches.best()
    if best is None:
        raise UndecodableText("could not detect a text encoding")
    encoding = _prefer(matches, best)
    if encoding in {"gbk", "gb2312", "hz"}:
        encoding = "gb18030"
    try:
        text = str(best) if encoding == best.encoding else data.decode(encoding, errors="strict")
    except UnicodeDecodeError:
        encoding, text = best.encoding, str(best)
    if _looks_binary(text):
        raise UndecodableText(f"decoded as {encoding}, but the result is not readable text")
    return text


def _prefer(matches, best) -> str:
    """Among code pages that read the bytes about as well as the detector's pick (same chaos, coherence within
    0.1), take the usual one.

    Short texts often tie: Spanish cp1252 reads equally well as cp1250 ('año' -> 'ańo'), Chinese GB18030
    as Korean cp949; the detector's order then decides, and it prefers the rarer page.
    """
    for preferred in _PREFERRED:
        for match in matches:
            if (match.encoding == preferred and match.chaos <= best.chaos + 0.01
                    and match.coherence >= best.coherence - 0.1):
                return preferred
    return best.encoding


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    controls = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0x7F <= ord(ch) < 0xA0)
    return controls / len(sample) > 0.02

"""Files attached to a request as base64: text is decoded, inspected and encoded again; the rest stays opaque.

OpenAI's Responses and Chat Completions APIs take a file as a ``data:MEDIA;base64,...`` URL (``file_data``),
Anthropic's Messages API as ``{"type": "base64", "media_type": ..., "data": ...}``. A CSV or a text file with a
customer's e-mail in it is as much text for the model as a pasted one. Checked on the segment walker with the
real engine and vault, and through the real gateway with the real openai SDK (Chat Completions; the Responses
case is in test_gateway_openai_responses.py).
"""

from __future__ import annotations

import base64
from pathlib import Path

import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _gateway_support import FAKE_OPENAI_KEY, Canaries, running_stack
from clientguard.detect import Detector
from clientguard.detect.engine import select_non_overlapping
from clientguard.gateway import segments as seg
from clientguard.redact import Vault

EMAIL = "jana.novak@posteo.example.de"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _redact(doc: dict) -> tuple[bool, seg.Segments]:
    segs = seg.collect(doc)
    detector = Detector.create(["Acme Health"], fingerprint_key=b"k" * 32)
    changed = seg.apply(segs, detector.scan_many(segs.texts), Vault("attachments-test", b"k" * 32),
                        select_non_overlapping, seg.Redaction())
    return changed, segs


@pytest.mark.parametrize("media_type", ["text/plain", "text/csv", "application/json", "text/markdown",
                                        "application/vnd.api+json"])
def test_a_text_attachment_is_redacted_and_stays_base64(media_type: str) -> None:
    text = f"name,email\nJana Novak,{EMAIL}\nclient,Acme Health\n"
    doc = {"messages": [{"role": "user", "content": [
        {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": _b64(text.encode())}},
        {"type": "file", "file": {"filename": "users.csv", "file_data": f"data:{media_type};base64,{_b64(text.encode())}"}},
    ]}]}
    changed, segs = _redact(doc)
    parts = doc["messages"][0]["content"]
    from_source = base64.b64decode(parts[0]["source"]["data"], validate=True).decode()
    head, payload = parts[1]["file"]["file_data"].split(",", 1)
    from_url = base64.b64decode(payload, validate=True).decode()
    assert changed and head == f"data:{media_type};base64"
    for decoded in (from_source, from_url):
        assert EMAIL not in decoded and "Acme Health" not in decoded
        assert decoded.startswith("name,email\nJana Novak,CG_EMAIL_") and "\nclient,CG_CLIENT_" in decoded
    assert "users.csv" in segs.files


@pytest.mark.parametrize("part", [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _b64(b"\x89PNG" + EMAIL.encode())}},
    {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": _b64(b"%PDF-1.7 " + EMAIL.encode())}},
    {"type": "input_file", "file_data": "data:text/plain;base64,not base64 at all!"},
    {"type": "input_image", "image_url": "data:image/jpeg;base64," + _b64(b"\xff\xd8" + EMAIL.encode())},
])
def test_attachments_that_are_not_text_pass_byte_identical(part: dict) -> None:
    doc = {"input": [{"role": "user", "content": [part]}]}
    before = repr(doc)
    changed, segs = _redact(doc)
    assert not changed and repr(doc) == before and segs.texts == []


def test_an_unchanged_text_attachment_is_not_encoded_again() -> None:
    # Base64 has more than one spelling only in its padding; an attachment with nothing to replace is left as
    # the agent sent it, byte for byte.
    data = "data:text/plain;base64," + _b64(b"print('hello')\n")
    doc = {"input": [{"type": "input_file", "filename": "hello.py", "file_data": data}]}
    changed, segs = _redact(doc)
    assert not changed and doc["input"][0]["file_data"] == data and "print('hello')\n" in segs.texts


def test_a_csv_attached_through_the_gateway_reaches_the_upstream_redacted(tmp_path: Path) -> None:
    c = Canaries.generate()
    rows = f"id,email,key\n1,{c.email},{c.aws_key_id}\n"
    with running_stack(tmp_path) as stack:
        client = openai.OpenAI(base_url=stack.url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        answer = client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": [
            {"type": "text", "text": f"Which rows of {c.client}'s export are broken?"},
            {"type": "file", "file": {"filename": "export.csv",
                                      "file_data": "data:text/csv;base64," + _b64(rows.encode())}},
        ]}])
        sent = stack.upstream.requests[-1].json["messages"][0]["content"]
        decoded = base64.b64decode(sent[1]["file"]["file_data"].split(",", 1)[1], validate=True).decode()
        assert stack.leaked(c) == []
        assert c.email not in decoded and c.aws_key_id not in decoded and decoded.startswith("id,email,key\n1,CG_EMAIL_")
        assert c.client in answer.choices[0].message.content  # the answer echoes the question, restored


@pytest.mark.parametrize("codec,bom", [("cp1252", b""), ("utf-16-le", b"\xff\xfe"), ("utf-8", b"\xef\xbb\xbf")])
def test_a_text_attachment_keeps_its_own_encoding(codec: str, bom: bytes) -> None:
    # Excel writes CSV exports in the Windows code page; Windows tools write UTF-16 with a byte order mark.
    text = f"Name;E-Mail;Ort\nJürgen Müller;{EMAIL};Köln\nRené Lévêque;rene@acme-health.de;Genève\n"
    data = bom + text.encode(codec)
    doc = {"input": [{"type": "input_file", "filename": "kunden.csv",
                      "file_data": "data:text/csv;base64," + _b64(data)}]}
    changed, _segs = _redact(doc)
    raw = base64.b64decode(doc["input"][0]["file_data"].split(",", 1)[1], validate=True)
    assert changed and raw.startswith(bom)
    decoded = raw[len(bom):].decode(codec)
    assert EMAIL not in decoded and "rene@acme-health.de" not in decoded
    assert decoded.startswith("Name;E-Mail;Ort\nJürgen Müller;CG_EMAIL_") and "Köln\nRené Lévêque;CG_" in decoded



_DETECTOR = Detector.create(["Acme Health"], fingerprint_key=b"k" * 32)
_VAULT = Vault("attachments-property-test", b"k" * 32)
# Latin-1's letters, spaces, punctuation and format characters (digits, "@" and "." left out, so that nothing else
# in the text is found; control characters left out, as text files hardly hold them).
_PROSE = st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cc", "Cs"),
                                        exclude_characters="0123456789@."), max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_PROSE, after=_PROSE, codec=st.sampled_from(["utf-8", "utf-16-le", "utf-16-be", "cp1252", "latin-1"]),
       bom=st.booleans())
def test_any_text_attachment_comes_back_whole_but_for_the_placeholder(before: str, after: str, codec: str,
                                                                      bom: bool) -> None:
    # Whatever surrounds the address, in whatever encoding, with or without a byte order mark: the address
    # becomes its placeholder in that same encoding, and every other byte of the file is left as it was.
    text = f"{before}\n{EMAIL}\n{after}"
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        return  # cp1252 lacks a few of Latin-1's characters
    marks = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
    mark = marks.get(codec, b"") if bom else b""
    doc = {"input": [{"type": "input_file", "file_data": "data:text/plain;base64," + _b64(mark + data)}]}
    segs = seg.collect(doc)
    assert segs.texts, "a text attachment must be inspected, not passed on unread"
    seg.apply(segs, _DETECTOR.scan_many(segs.texts), _VAULT, select_non_overlapping, seg.Redaction())
    raw = base64.b64decode(doc["input"][0]["file_data"].split(",", 1)[1], validate=True)
    placeholder = _VAULT.placeholder("EMAIL", EMAIL)
    assert EMAIL.encode(codec) not in raw and placeholder.encode(codec) in raw
    assert raw.replace(placeholder.encode(codec), EMAIL.encode(codec)) == mark + data

"""The streaming multipart reader refuses hostile bodies with InvalidInput and holds little memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vault.errors import InvalidInput
from vault.web.multipart import PUBLIC_FORM, STAFF_UPLOAD, StreamedForm, boundary_of

B = b"xyzBOUNDARY"


def _part(name: str, value: bytes, filename: str | None = None, extra: bytes = b"") -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return (
        b"--" + B + b"\r\nContent-Disposition: " + disp.encode() + b"\r\n" + extra + b"\r\n" + value + b"\r\n"
    )


def _body(*parts: bytes) -> list[bytes]:
    data = b"".join(parts) + b"--" + B + b"--\r\n"
    return [data[i : i + 7] for i in range(0, len(data), 7)]  # tiny chunks: every boundary split


def test_fields_then_file_stream_through() -> None:
    """Tiny chunks split every header name, value and boundary; the parts still come out whole."""
    form = StreamedForm(B, _body(_part("title", b"Verslag"), _part("file", b"inhoud" * 1000, "v.txt")))
    form.read_fields()
    assert form.fields == {"title": "Verslag"}
    assert (form.filename, b"".join(form.file_chunks())) == ("v.txt", b"inhoud" * 1000)


@pytest.mark.parametrize(
    "parts",
    [
        (_part("a", b"x" * 6000), _part("f", b"y", "f")),  # a field over the limit
        (*[_part(f"n{i}", b"1") for i in range(11)], _part("f", b"y", "f")),  # too many fields
        (_part("f", b"y", "f", extra=b"Content-Type: " + b"t" * 5000 + b"\r\n"),),  # a huge part header
    ],
    ids=["long-field", "many-fields", "long-header"],
)
def test_hostile_bodies_are_refused(parts: tuple[bytes, ...]) -> None:
    def read_all() -> None:
        form = StreamedForm(B, _body(*parts))
        form.read_fields()
        b"".join(form.file_chunks())

    with pytest.raises(InvalidInput):
        read_all()


def test_second_file_and_fields_after_the_file_are_refused() -> None:
    for extra in (_part("g", b"z", "g"), _part("late", b"veld")):
        form = StreamedForm(B, _body(_part("f", b"y", "f"), extra), PUBLIC_FORM)
        form.read_fields()
        with pytest.raises(InvalidInput):
            b"".join(form.file_chunks())


def test_missing_file_is_refused_for_staff_and_allowed_on_public_forms() -> None:
    with pytest.raises(InvalidInput, match="choose a file"):
        StreamedForm(B, _body(_part("title", b"t")), STAFF_UPLOAD).read_fields()
    public = StreamedForm(B, _body(_part("title", b"t")), PUBLIC_FORM)
    public.read_fields()
    assert not public.has_file


def test_truncated_body_is_refused() -> None:
    data = b"".join(_body(_part("f", b"y" * 100, "f")))
    form = StreamedForm(B, [data[:-40]])  # cut inside the file part
    form.read_fields()
    with pytest.raises(InvalidInput, match="interrupted"):
        b"".join(form.file_chunks())


@given(st.data())
def test_a_body_cut_before_its_closing_boundary_is_refused(data: st.DataObject) -> None:
    """Fields alone (no file) or fields and a file: any cut before the closing ``--boundary--`` is
    refused once the rest is read, so a garbled tail never passes for a whole form."""
    with_file = data.draw(st.booleans())
    parts = [_part("title", b"Verslag"), _part("text", b"Zo ging het.")]
    if with_file:
        parts.append(_part("file", b"inhoud" * 20, "v.txt"))
    whole = b"".join(_body(*parts))
    cut = data.draw(st.integers(min_value=0, max_value=whole.rindex(b"--" + B + b"--") + len(B) + 3))
    with pytest.raises(InvalidInput):
        _read_all(StreamedForm(B, [whole[:cut]], PUBLIC_FORM))


def _read_all(form: StreamedForm) -> None:
    form.read_fields()
    if form.has_file:
        b"".join(form.file_chunks())
    form.drain()


def test_a_whole_body_passes_with_or_without_the_last_line_break() -> None:
    whole = b"".join(_body(_part("title", b"Verslag")))
    for body in (whole, whole[:-2]):
        form = StreamedForm(B, [body], PUBLIC_FORM)
        form.read_fields()
        form.drain()
        assert form.fields == {"title": "Verslag"}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "multipart/form-data; boundary=" + "a" * 300]
)
def test_boundary_is_required_and_bounded(content_type: str) -> None:
    with pytest.raises(InvalidInput):
        boundary_of(content_type)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_invalid_input(data: bytes) -> None:
    form = StreamedForm(B, [data], PUBLIC_FORM)
    try:
        form.read_fields()
        if form.has_file:
            b"".join(form.file_chunks())
        else:
            form.drain()
    except InvalidInput:
        pass

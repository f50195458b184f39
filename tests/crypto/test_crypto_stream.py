"""D18: the segmented streaming document format (vault.crypto.stream)."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vault.crypto.envelope import DataKey, new_data_key
from vault.crypto.stream import (
    HEADER_SIZE,
    MAX_SEGMENT_SIZE,
    SEGMENT_SIZE,
    TAG_SIZE,
    StreamDecryptor,
    ciphertext_length,
    decrypt_stream,
    encrypt_stream,
    plaintext_length,
)
from vault.errors import Integrity

SMALL = 16  # segment size for tests that cut documents into many segments
DEK = DataKey(bytes(range(32)))


def seal(data: bytes, *, dek: DataKey = DEK, doc: str = "doc-1", segment_size: int = SMALL) -> bytes:
    return b"".join(encrypt_stream(dek, doc, [data], segment_size=segment_size))


def open_all(ct: bytes, *, dek: DataKey = DEK, doc: str = "doc-1") -> bytes:
    return b"".join(decrypt_stream(dek, doc, [ct]))


def segments(ct: bytes, segment_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    body = ct[HEADER_SIZE:]
    step = segment_size + TAG_SIZE
    return ct[:HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


def split(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    pos, i = 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        yield data[pos : pos + size]
        pos += size
        i += 1


# -- round trips -------------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=300),
    segment_size=st.sampled_from([16, 17, 31, 64, 100]),
    in_sizes=st.lists(st.integers(1, 70), min_size=1, max_size=5),
    out_sizes=st.lists(st.integers(1, 90), min_size=1, max_size=5),
)
def test_d18_round_trip_for_any_chunking(
    data: bytes, segment_size: int, in_sizes: list[int], out_sizes: list[int]
) -> None:
    ct = b"".join(encrypt_stream(DEK, "doc-h", split(data, in_sizes), segment_size=segment_size))
    assert len(ct) == ciphertext_length(len(data), segment_size)
    assert plaintext_length(len(ct), segment_size) == len(data)
    assert b"".join(decrypt_stream(DEK, "doc-h", split(ct, out_sizes))) == data


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=200), feed=st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_d18_decryptor_update_and_finalize_round_trip(data: bytes, feed: list[int]) -> None:
    ct = seal(data)
    decryptor = StreamDecryptor(DEK, "doc-1")
    out = b"".join(decryptor.update(piece) for piece in split(ct, feed))
    assert out + decryptor.finalize() == data


def test_d18_default_segment_size_round_trip_with_large_chunks() -> None:
    data = os.urandom(3 * SEGMENT_SIZE + 123)
    ct = b"".join(encrypt_stream(DEK, "doc-big", [data[: 1 << 17], data[1 << 17 :]]))
    assert len(ct) == ciphertext_length(len(data))
    assert b"".join(decrypt_stream(DEK, "doc-big", split(ct, [1 << 20]))) == data


def test_d18_empty_document_is_one_empty_final_segment() -> None:
    ct = seal(b"")
    assert len(ct) == HEADER_SIZE + TAG_SIZE
    assert open_all(ct) == b""


def test_d18_exact_multiple_has_no_trailing_empty_segment() -> None:
    ct = seal(b"a" * (2 * SMALL))
    _, segs = segments(ct)
    assert [len(s) for s in segs] == [SMALL + TAG_SIZE] * 2
    assert open_all(ct) == b"a" * (2 * SMALL)


def test_d18_header_layout() -> None:
    ct = seal(b"x", segment_size=SMALL)
    assert ct[:5] == b"VTDOC"
    assert ct[5] == 1
    assert struct.unpack(">I", ct[6:10])[0] == SMALL
    assert len(ct) == HEADER_SIZE + 1 + TAG_SIZE


def test_d18_salt_is_random_per_encryption() -> None:
    assert seal(b"same") != seal(b"same")


def test_d18_caller_may_reuse_its_read_buffer() -> None:
    buffer = bytearray(b"A" * 10)

    def chunks() -> Iterator[bytearray]:
        for fill in b"ABC":
            buffer[:] = bytes([fill]) * 10
            yield buffer

    ct = b"".join(encrypt_stream(DEK, "doc-1", chunks(), segment_size=SMALL))
    assert open_all(ct) == b"A" * 10 + b"B" * 10 + b"C" * 10


def test_d18_encryption_consumes_input_lazily() -> None:
    consumed = 0

    def chunks() -> Iterator[bytes]:
        nonlocal consumed
        for _ in range(1000):
            consumed += 1
            yield b"z" * SMALL

    stream = encrypt_stream(DEK, "doc-1", chunks(), segment_size=SMALL)
    next(stream)  # header
    next(stream)  # first segment
    assert consumed <= 3


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 32, 33, 10_000])
def test_ciphertext_length_matches_and_inverts(size: int) -> None:
    assert len(seal(b"q" * size)) == ciphertext_length(size, SMALL)
    assert plaintext_length(ciphertext_length(size, SMALL), SMALL) == size


@pytest.mark.parametrize("bad", [0, HEADER_SIZE, HEADER_SIZE + 15, HEADER_SIZE + 2 * (SMALL + TAG_SIZE) + 16])
def test_plaintext_length_rejects_impossible_sizes(bad: int) -> None:
    with pytest.raises(Integrity):
        plaintext_length(bad, SMALL)


@pytest.mark.parametrize("segment_size", [0, 15, MAX_SEGMENT_SIZE + 1])
def test_encrypt_rejects_segment_size_out_of_range(segment_size: int) -> None:
    with pytest.raises(ValueError, match="segment_size"):
        encrypt_stream(DEK, "doc-1", [b""], segment_size=segment_size)


# -- wrong key, wrong document, header -----------------------------------------------------------------


def test_d18_wrong_dek_fails_at_the_header_before_any_segment() -> None:
    ct = seal(b"p" * 100)
    decryptor = StreamDecryptor(new_data_key(), "doc-1")
    with pytest.raises(Integrity):
        decryptor.update(ct[:HEADER_SIZE])  # header only: the commitment already fails


def test_d18_wrong_document_id_fails_at_the_header() -> None:
    ct = seal(b"p" * 100, doc="doc-1")
    with pytest.raises(Integrity):
        StreamDecryptor(DEK, "doc-2").update(ct[:HEADER_SIZE])


@pytest.mark.parametrize("position", range(HEADER_SIZE))
def test_d18_any_header_byte_change_fails(position: int) -> None:
    ct = bytearray(seal(b"h" * 40))
    ct[position] ^= 0x01
    with pytest.raises(Integrity):
        open_all(bytes(ct))


def test_d18_huge_segment_size_in_header_is_rejected_before_allocation() -> None:
    ct = bytearray(seal(b"h" * 40))
    ct[6:10] = struct.pack(">I", 0xFFFFFFFF)
    with pytest.raises(Integrity):
        StreamDecryptor(DEK, "doc-1").update(bytes(ct[:HEADER_SIZE]))


def test_d18_header_of_another_document_fails() -> None:
    a = seal(b"a" * 40, doc="doc-a")
    b = seal(b"a" * 40, doc="doc-b")
    with pytest.raises(Integrity):
        open_all(b[:HEADER_SIZE] + a[HEADER_SIZE:], doc="doc-b")
    with pytest.raises(Integrity):
        open_all(b[:HEADER_SIZE] + a[HEADER_SIZE:], doc="doc-a")


# -- truncation, dropping, duplication, reordering, splicing ---------------------------------------------


@pytest.mark.parametrize("cut", range(0, HEADER_SIZE + 3 * (SMALL + TAG_SIZE) - 8))
def test_d18_every_truncation_fails(cut: int) -> None:
    ct = seal(b"t" * (2 * SMALL + 8))
    assert len(ct) == HEADER_SIZE + 3 * (SMALL + TAG_SIZE) - 8
    with pytest.raises(Integrity):
        open_all(ct[:cut])


def test_d18_truncation_at_segment_boundary_fails_even_though_segments_verify() -> None:
    ct = seal(b"t" * (3 * SMALL))
    header, segs = segments(ct)
    decryptor = StreamDecryptor(DEK, "doc-1")
    assert decryptor.update(header + segs[0] + segs[1]) == b"t" * SMALL  # second held back
    with pytest.raises(Integrity):
        decryptor.finalize()


def test_d18_dropped_segment_fails() -> None:
    header, segs = segments(seal(b"d" * (3 * SMALL + 1)))
    for i in range(len(segs)):
        with pytest.raises(Integrity):
            open_all(header + b"".join(segs[:i] + segs[i + 1 :]))


def test_d18_duplicated_segment_fails() -> None:
    header, segs = segments(seal(b"d" * (3 * SMALL + 1)))
    for i in range(len(segs)):
        with pytest.raises(Integrity):
            open_all(header + b"".join([*segs[: i + 1], segs[i], *segs[i + 1 :]]))


def test_d18_reordered_segments_fail() -> None:
    header, segs = segments(seal(bytes(range(3 * SMALL + 1))))
    for i in range(len(segs) - 1):
        swapped = [*segs]
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        with pytest.raises(Integrity):
            open_all(header + b"".join(swapped))


def test_d18_appended_data_after_final_segment_fails() -> None:
    ct = seal(b"e" * 20)
    for tail in (b"\x00", os.urandom(TAG_SIZE), os.urandom(SMALL + TAG_SIZE)):
        with pytest.raises(Integrity):
            open_all(ct + tail)


def test_d18_segment_spliced_from_another_document_of_the_same_case_fails() -> None:
    header_a, segs_a = segments(seal(b"a" * 40, doc="doc-a"))
    _, segs_b = segments(seal(b"a" * 40, doc="doc-b"))
    for i in range(len(segs_a)):
        spliced = [*segs_a]
        spliced[i] = segs_b[i]
        with pytest.raises(Integrity):
            open_all(header_a + b"".join(spliced), doc="doc-a")


def test_d18_segment_spliced_from_another_case_fails() -> None:
    other_case = new_data_key()
    header_a, segs_a = segments(seal(b"a" * 40))
    _, segs_b = segments(seal(b"a" * 40, dek=other_case))
    spliced = [segs_a[0], segs_b[1], segs_a[2]]
    with pytest.raises(Integrity):
        open_all(header_a + b"".join(spliced))


def test_d18_whole_document_of_another_case_fails_under_this_case_key() -> None:
    with pytest.raises(Integrity):
        open_all(seal(b"a" * 40, dek=new_data_key()))


def test_d18_non_canonical_empty_final_segment_fails() -> None:
    # Re-create what an encoder without the "last segment is non-empty" rule would emit.
    from vault.crypto.stream import _document_keys

    header = seal(b"f" * SMALL)[:HEADER_SIZE]
    aead, _ = _document_keys(DEK, "doc-1", header[10:42])
    first = aead.encrypt((0).to_bytes(11, "big") + b"\x00", b"f" * SMALL, header)
    empty_last = aead.encrypt((1).to_bytes(11, "big") + b"\x01", b"", header)
    with pytest.raises(Integrity):
        open_all(header + first + empty_last)


# -- bit flips --------------------------------------------------------------------------------------

TINY = seal(b"bit flips hit every byte", doc="doc-tiny")  # 24 bytes: two segments of 16


def test_d18_every_single_bit_flip_fails_exhaustively() -> None:
    assert len(segments(TINY)[1]) == 2
    for position in range(len(TINY)):
        for bit in range(8):
            flipped = bytearray(TINY)
            flipped[position] ^= 1 << bit
            with pytest.raises(Integrity):
                open_all(bytes(flipped), doc="doc-tiny")


MULTI = seal(bytes(range(200)), doc="doc-multi")


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(MULTI) - 1), bit=st.integers(0, 7))
def test_d18_bit_flip_anywhere_in_multi_segment_document_fails(position: int, bit: int) -> None:
    flipped = bytearray(MULTI)
    flipped[position] ^= 1 << bit
    with pytest.raises(Integrity):
        open_all(bytes(flipped), doc="doc-multi")


# -- release discipline ------------------------------------------------------------------------------


def test_d18_no_plaintext_released_before_its_segment_is_complete_and_known_non_final() -> None:
    data = bytes(range(3 * SMALL + 5))
    ct = seal(data)
    decryptor = StreamDecryptor(DEK, "doc-1")
    released = bytearray()
    step = SMALL + TAG_SIZE
    for i, byte in enumerate(ct):
        out = decryptor.update(bytes([byte]))
        consumed = i + 1 - HEADER_SIZE
        # A segment is released only once one byte of the next segment has arrived.
        expected_segments = max(0, (consumed - 1) // step) if consumed > 0 else 0
        released += out
        assert len(released) == min(expected_segments * SMALL, 3 * SMALL)
    assert bytes(released) + decryptor.finalize() == data


def test_d18_tampered_segment_releases_nothing_of_itself_and_poisons_the_decryptor() -> None:
    ct = bytearray(seal(b"s" * (3 * SMALL)))
    ct[HEADER_SIZE + (SMALL + TAG_SIZE) + 3] ^= 0x80  # inside segment 1
    decryptor = StreamDecryptor(DEK, "doc-1")
    first = decryptor.update(bytes(ct[: HEADER_SIZE + SMALL + TAG_SIZE + 1]))
    assert first == b"s" * SMALL
    with pytest.raises(Integrity):
        decryptor.update(bytes(ct[HEADER_SIZE + SMALL + TAG_SIZE + 1 :]))
    with pytest.raises(Integrity):
        decryptor.update(b"")
    with pytest.raises(Integrity):
        decryptor.finalize()


def test_decrypt_stream_yields_verified_segments_one_by_one() -> None:
    data = b"y" * (3 * SMALL)
    pieces = list(decrypt_stream(DEK, "doc-1", [seal(data)]))
    assert pieces == [b"y" * SMALL] * 3


def test_d18_decryptor_repr_holds_no_key_material() -> None:
    decryptor = StreamDecryptor(DEK, "doc-1")
    assert DEK.reveal().hex() not in repr(decryptor)
    assert "doc-1" not in repr(decryptor)

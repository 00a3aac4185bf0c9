import io

import pytest

from devhost.http_body import BodyTooLarge, MalformedBody, content_length, read_body


def test_reads_exactly_content_length():
    stream = io.BytesIO(b"hello, next request")
    assert read_body(stream, 5, chunked=False) == b"hello"
    assert stream.read() == b", next request"


def test_refuses_a_declared_length_over_the_limit_without_reading():
    stream = io.BytesIO(b"x" * 20)
    with pytest.raises(BodyTooLarge):
        read_body(stream, 20, chunked=False, limit=10)
    assert stream.tell() == 0


def test_decodes_chunked_bodies_with_extensions_and_trailers():
    raw = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"
    stream = io.BytesIO(raw)
    assert read_body(stream, None, chunked=True) == b"hello, world"
    assert stream.read() == b"NEXT"


def test_stops_a_chunked_body_at_the_limit():
    raw = b"8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
    with pytest.raises(BodyTooLarge):
        read_body(io.BytesIO(raw), None, chunked=True, limit=10)


@pytest.mark.parametrize("raw", [b"zz\r\n", b"5\r\nhel", b"3\r\nabcdef\r\n0\r\n\r\n"])
def test_malformed_chunked_bodies(raw):
    with pytest.raises(MalformedBody):
        read_body(io.BytesIO(raw), None, chunked=True)


@pytest.mark.parametrize(("header", "expected"), [(None, None), ("0", 0), (" 12 ", 12)])
def test_content_length(header, expected):
    assert content_length(header) == expected


@pytest.mark.parametrize("header", ["-1", "abc", "1e3"])
def test_bad_content_length(header):
    with pytest.raises(MalformedBody):
        content_length(header)

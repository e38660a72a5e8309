"""Uploads stay in memory, never on disk, and an oversize one is refused while it streams.

Django's default handlers spool an upload over FILE_UPLOAD_MAX_MEMORY_SIZE to a named file in
the system temporary directory for the whole request: a plaintext passport scan on disk,
readable by whoever reads that directory or its backups. The only handler here keeps each
file in memory up to ``CASEWORK_UPLOAD_MAX_BYTES`` and never writes anything.

A file over the limit becomes a ``RefusedUpload`` (no content, its size over the limit), so
the form says "too large" like any other refusal:

- a body whose Content-Length cannot hold an acceptable file and the form's other fields is
  refused at the first byte of its first file: what came before (the CSRF token) is parsed,
  the rest of the body is never read;
- otherwise a file is kept until it passes the limit, then discarded chunk by chunk; what
  little of the body remains is read, so the fields after the file are kept for the form.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import InMemoryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers, StopUpload
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import MultiValueDict

# Room for the form's other fields and the multipart headers next to a file of the limit.
FORM_ALLOWANCE = 64 * 1024


class RefusedUpload(UploadedFile):  # type: ignore[type-arg]  # generic in the stubs only
    """A file that was over the limit: its name and size are known, its content was dropped."""

    def __init__(self, *, name: str, content_type: str, size: int) -> None:
        super().__init__(None, name, content_type, size)

    def open(self, *args: Any, **kwargs: Any) -> RefusedUpload:
        # File.open would open a file of the uploaded file's name from the working directory.
        raise RequestDataTooBig("the upload was over CASEWORK_UPLOAD_MAX_BYTES")

    def read(self, *args: Any) -> bytes:
        raise RequestDataTooBig("the upload was over CASEWORK_UPLOAD_MAX_BYTES")

    def chunks(self, chunk_size: int | None = None) -> Any:
        raise RequestDataTooBig("the upload was over CASEWORK_UPLOAD_MAX_BYTES")

    def close(self) -> None:
        pass  # nothing was kept, so nothing to close (Django closes every upload at the end)


class MemoryOnlyUploadHandler(FileUploadHandler):
    """The one upload handler (settings.FILE_UPLOAD_HANDLERS)."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit: int = settings.CASEWORK_UPLOAD_MAX_BYTES
        self.body_length = 0
        self.body_too_large = False
        self.buffer: io.BytesIO | None = None
        self.refused: RefusedUpload | None = None
        self._parsing_myself = False

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes | str,
        encoding: str | None = None,
    ) -> tuple[Any, MultiValueDict[str, Any]] | None:
        self.body_length = content_length
        self.body_too_large = content_length > self.limit + FORM_ALLOWANCE
        if not self.body_too_large or self._parsing_myself:
            return None  # Django's parser, calling back receive_data_chunk below
        # Django's parser drops whatever file it was reading when a handler stops the upload,
        # so the refusal is added here, where the parsed fields and files are in hand.
        self._parsing_myself = True
        post, files = MultiPartParser(META, input_data, [self], encoding).parse()
        if self.refused is not None:
            files.appendlist(self.field_name, self.refused)
        return post, files

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()
        raise StopFutureHandlers()  # no later handler may see (and spool) this file

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self.body_too_large:
            self._refuse(size=self.body_length)
            raise StopUpload(connection_reset=True)  # the rest of the body is never read
        if self.buffer is not None and start + len(raw_data) > self.limit:
            self.buffer = None  # dropped at once; the remaining chunks are only counted
        if self.buffer is not None:
            self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile[bytes]:
        if self.buffer is None:
            self._refuse(size=file_size)
            assert self.refused is not None
            return self.refused
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name=self.file_name,
            content_type=self.content_type,
            size=file_size,
            charset=self.charset,
            content_type_extra=self.content_type_extra,
        )

    def _refuse(self, *, size: int) -> None:
        self.refused = RefusedUpload(
            name=self.file_name or "", content_type=self.content_type or "", size=size
        )

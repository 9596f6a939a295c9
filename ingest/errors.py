"""Per-file ingest errors: each names what is wrong with one file, in one line."""


class IngestError(Exception):
    """A file that cannot be ingested. The message is shown to the user as the reason."""


class UnsupportedFormat(IngestError):
    pass


class EmptyDocument(IngestError):
    pass


class CorruptFile(IngestError):
    pass


class UndecodableText(IngestError):
    pass


class FileTooLarge(IngestError):
    pass


class ParseTimeout(IngestError):
    pass


class ParseOutOfMemory(IngestError):
    """Parsing the file needed more memory than the parse child may use (parse_memory_mb)."""

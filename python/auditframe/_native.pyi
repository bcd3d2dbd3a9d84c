"""Type stubs of the extension module (the Rust engine of the `auditframe` package)."""

from typing import Any, Optional

__version__: str

class AuditframeError(Exception):
    """An error reported by auditframe."""

class ParseError(AuditframeError):
    """Input auditframe cannot read: a bad record in strict mode, an unknown shape, a file
    that is not Parquet."""

    source: Optional[str]
    line: Optional[int]
    column: Optional[int]
    byte: Optional[int]
    row: Optional[int]
    field: Optional[str]
    reason: Optional[str]
    excerpt: Optional[str]

class Table:
    """An Arrow table of results."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...
    def __arrow_c_schema__(self) -> Any: ...
    def __len__(self) -> int: ...
    @property
    def columns(self) -> list[str]: ...

class Frame:
    """Audit events in the canonical schema, held in Rust."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...
    def __arrow_c_schema__(self) -> Any: ...
    def __len__(self) -> int: ...
    @property
    def columns(self) -> list[str]: ...
    @property
    def report_json(self) -> str: ...
    @property
    def time_range(self) -> Optional[tuple[int, int]]: ...

def read(
    paths: list[str],
    shape: Optional[str] = None,
    columns: Optional[list[str]] = None,
    strict: bool = False,
    since: Optional[str] = None,
    until: Optional[str] = None,
    last: Optional[str] = None,
    clusters: list[str] = ...,
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Frame: ...
def analyze(source: Any, **options: Any) -> tuple[str, Table, Table, Table]: ...
def diagnose(source: Any, **options: Any) -> str: ...
def convert(paths: list[str], output: str, **options: Any) -> str: ...
def column_names(preset: str) -> list[str]: ...

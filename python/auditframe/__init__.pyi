import datetime as _dt
import os as _os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from ._native import AuditframeError as AuditframeError
from ._native import ParseError as ParseError
from ._native import Table as Table

__version__: str

PathLike = Union[str, _os.PathLike[str]]
Paths = Union[PathLike, Sequence[PathLike]]
TimeLike = Union[str, _dt.datetime]
Duration = Union[str, _dt.timedelta]

def column_names(preset: str = "all") -> list[str]: ...

class Report:
    def __init__(self, fields: Mapping[str, Any]) -> None: ...
    @property
    def rows(self) -> int: ...
    @property
    def rows_read(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def reasons(self) -> dict[str, int]: ...
    @property
    def errors(self) -> list[str]: ...
    @property
    def truncated(self) -> int: ...
    @property
    def duplicates_dropped(self) -> int: ...
    @property
    def shape(self) -> Optional[str]: ...
    @property
    def inputs(self) -> list[dict[str, Any]]: ...
    def to_dict(self) -> dict[str, Any]: ...

class _ArrowExport:
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...
    def __arrow_c_schema__(self) -> Any: ...
    def to_polars(self) -> Any: ...
    def to_arrow(self) -> Any: ...
    def to_pandas(self) -> Any: ...

class Frame(_ArrowExport):
    report: Report
    def __len__(self) -> int: ...
    @property
    def columns(self) -> list[str]: ...
    @property
    def time_range(self) -> Optional[tuple[_dt.datetime, _dt.datetime]]: ...

class Analysis(dict[str, Any]):
    tables: dict[str, Table]

class Diagnosis(dict[str, Any]): ...

def read(
    paths: Paths,
    *,
    shape: Optional[str] = None,
    columns: Union[None, str, Iterable[str]] = None,
    strict: bool = False,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    last: Optional[Duration] = None,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Frame: ...
def analyze(
    paths_or_frame: Union[Paths, Frame],
    *,
    by: str = "user_agent",
    top: int = 10,
    bin: Duration = "5m",
    percentiles: Sequence[float] = (99,),
    agent: Optional[str] = None,
    last: Optional[Duration] = None,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    stage: str = "all",
    exclude_long_running: bool = False,
    approx_percentiles: Optional[float] = None,
    shape: Optional[str] = None,
    strict: bool = False,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Analysis: ...
def diagnose(
    paths_or_frame: Union[Paths, Frame],
    *,
    by: str = "user_agent",
    top: int = 10,
    bin: Duration = "5m",
    last: Optional[Duration] = None,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    list_rules: str = "since-1.31",
    uncached_resources: Sequence[str] = ("events",),
    growth_threshold: int = 10_000,
    growth_horizon: Duration = "24h",
    slo_mutating: Duration = "1s",
    slo_read_object: Duration = "1s",
    slo_read_namespace: Duration = "5s",
    slo_read_cluster: Duration = "30s",
    shape: Optional[str] = None,
    strict: bool = False,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Diagnosis: ...
def convert(
    paths: Paths,
    output: PathLike,
    *,
    columns: Union[None, str, Iterable[str]] = None,
    row_group_rows: Optional[int] = None,
    zstd_level: Optional[int] = None,
    shape: Optional[str] = None,
    strict: bool = False,
    reject_truncated: bool = False,
) -> Report: ...

"""Type stubs of the Rust extension module ``lienthong._internal`` (use the ``lienthong`` package)."""

import os
from collections.abc import Sequence
from typing import Any

__version__: str

class LienthongError(Exception):
    """Base class of every lienthong error."""

class PolicyDenied(LienthongError):
    """The policy refuses this caller this request."""

class CatalogError(LienthongError):
    """The catalog could not be read or is invalid."""

    path: str | None
    line: int | None
    column: int | None
    field: str | None
    problems: list[dict[str, Any]]

class QueryError(LienthongError):
    """The query is invalid or failed."""

class LimitExceeded(QueryError):
    """A per-query limit (rows, time, memory) was reached."""

class QuotaExceeded(LimitExceeded):
    """A volume quota of the catalog (rows or keys per query, day or month) is used up."""

class SourceError(LienthongError):
    """A source the query needs is unavailable."""

    source_name: str

class AuditError(LienthongError):
    """The audit log could not be written."""

class QueryResult:
    """The results of one query."""

    @property
    def policies(self) -> list[str]: ...
    @property
    def tables(self) -> list[str]: ...
    @property
    def query_id(self) -> str | None: ...
    @property
    def num_rows(self) -> int | None: ...
    def collect(self) -> None: ...
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...
    def __arrow_c_schema__(self) -> Any: ...

class Session:
    """A session of this process."""

    @property
    def principal(self) -> str: ...
    @property
    def purpose(self) -> str | None: ...
    def sql(self, query: str, params: Sequence[Any] | None = None) -> QueryResult: ...
    def tables(self) -> list[str]: ...
    def describe(self, table: str) -> dict[str, Any]: ...
    def quotas(self) -> str: ...
    def explain(self, query: str) -> str: ...

class Catalog:
    """An opened catalog."""

    @staticmethod
    def open(
        path: str | os.PathLike[str],
        *,
        audit_path: str | os.PathLike[str] | None = None,
        pseudonym_key: bytes | None = None,
        max_rows: int | None = None,
        timeout_seconds: float | None = None,
        memory_bytes: int | None = None,
    ) -> Catalog: ...
    def session(
        self, principal: str | None = None, purpose: str | None = None, credential: str | None = None
    ) -> Session: ...
    @property
    def path(self) -> os.PathLike[str]: ...
    @property
    def audit_path(self) -> os.PathLike[str]: ...
    @property
    def node(self) -> str: ...
    def literal_digest(self, value: str) -> str: ...
    def refresh(self) -> None: ...

class RemoteSession:
    """A session on a remote lienthong node over Flight SQL."""

    @property
    def principal(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    def sql(self, query: str, params: Sequence[Any] | None = None) -> QueryResult: ...
    def tables(self) -> list[str]: ...
    def quotas(self) -> str: ...
    def explain(self, query: str) -> str: ...

def connect(
    uri: str,
    *,
    token: str | None = None,
    principal: str | None = None,
    credential: str | None = None,
    purpose: str | None = None,
    tls_root_certs: bytes | None = None,
) -> RemoteSession: ...
def _drain(result: QueryResult) -> int: ...

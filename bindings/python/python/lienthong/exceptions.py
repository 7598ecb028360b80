"""The exceptions lienthong raises, one class per kind of failure.

Every class derives from :class:`LienthongError`; the message is the Rust core's.

- :class:`PolicyDenied`: the policy refuses this caller this request. The message never reveals
  whether a principal, a purpose, a table or a column exists.
- :class:`CatalogError`: the catalog could not be read or is invalid. ``path``, ``line``,
  ``column`` and ``field`` locate the first problem; ``problems`` lists every one as a dict.
- :class:`QueryError`: the SQL is invalid, names something the caller cannot see, or failed.
  :class:`LimitExceeded` (a subclass) when a per-query limit (rows, time, memory) was reached,
  and its subclass :class:`QuotaExceeded` when a volume quota of the catalog is used up.
- :class:`SourceError`: a source the query needs failed (``source_name`` names it); no partial
  result is ever returned.
- :class:`AuditError`: the audit log could not be written, so nothing was released.
"""

from lienthong._internal import (
    AuditError,
    CatalogError,
    LienthongError,
    LimitExceeded,
    PolicyDenied,
    QueryError,
    QuotaExceeded,
    SourceError,
)

__all__ = [
    "AuditError",
    "CatalogError",
    "LienthongError",
    "LimitExceeded",
    "PolicyDenied",
    "QueryError",
    "QuotaExceeded",
    "SourceError",
]

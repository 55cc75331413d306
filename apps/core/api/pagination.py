from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """API.md's list shape: count, next, previous, results. ``?page_size=`` up to 100."""

    page_size_query_param = "page_size"
    max_page_size = 100


class CursorPagination(pagination.CursorPagination):
    """For lists that grow without bound (alerts): ``next``, ``previous`` and ``results``, no ``count``.

    A page is found by the last key seen, not by counting rows to skip, so the hundredth page costs what
    the first does and a row added meanwhile neither repeats nor skips one; and no ``COUNT(*)`` over the
    whole list per request. Newest first by the primary key: unique, indexed, and in creation order.
    ``?cursor=`` is opaque: follow ``next``. ``?page_size=`` up to 100.
    """

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 100


class AuditCursorPagination(CursorPagination):
    """The audit trail, newest first by time as the audit page shows it (the id breaks ties; a run of
    equal times longer than a page is where DRF's cursor can shift by a page when turning back).
    50 entries a page, ``?page_size=`` up to 200."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200

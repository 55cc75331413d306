from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """API.md's list shape: count, next, previous, results. ``?page_size=`` up to 100."""

    page_size_query_param = "page_size"
    max_page_size = 100

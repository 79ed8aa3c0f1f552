"""One page of a list that grows with the service, and the links to the others.

Every such list (groups, people, invitations, completion rows...) goes through ``page_of`` so the
page size is set in one place (``settings.LIST_PAGE_SIZE``) and a page costs a COUNT and one slice
of the query, whatever the list's length. Templates show the links with ``{% pagination page %}``
(``peersupport.templatetags.pagination``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def page_of(
    request: HttpRequest, items: QuerySet | Sequence, *, param: str = "page", default: int | None = None
) -> Page:
    """The page of ``items`` asked for by ``?<param>=N`` (without one, page ``default``, else the first).

    A value that is not a whole number gives the first page and one past the end (or below 1) the
    last, so an old or hand-edited link still shows a list, never an error. ``items`` must be
    ordered to the last tie (add ``pk``), or rows could move between pages.
    """
    paginator = Paginator(items, settings.LIST_PAGE_SIZE)
    return paginator.get_page(request.GET.get(param, default))


def page_number_of(position: int) -> int:
    """The page (from 1) holding the row at ``position`` (from 0) of a list."""
    return position // settings.LIST_PAGE_SIZE + 1

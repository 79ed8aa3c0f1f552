"""``{% pagination page label param %}``: the links to a list's other pages, for keyboard and screen reader.

A ``nav`` labelled with ``label`` (e.g. "Pages of groups"), the current page marked
``aria-current="page"``, and links that keep the page's other query parameters (another list's page
on the same page, a filter) so paging one list leaves the rest as it was.
"""

from __future__ import annotations

from django import template
from django.core.paginator import Page

register = template.Library()


@register.inclusion_tag("peersupport/_pagination.html", takes_context=True)
def pagination(context, page: Page, label: str, param: str = "page", anchor: str = ""):
    request = context["request"]

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}{'#' + anchor if anchor else ''}"

    links = []
    if page.paginator.num_pages > 1:
        for number in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1):
            if number == page.paginator.ELLIPSIS:
                links.append({"ellipsis": True})
            else:
                links.append({"number": number, "url": url(number), "current": number == page.number})
    return {
        "page": page,
        "label": label,
        "links": links,
        "previous_url": url(page.previous_page_number()) if page.has_previous() else None,
        "next_url": url(page.next_page_number()) if page.has_next() else None,
    }

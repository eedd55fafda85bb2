"""Pinned query counts for the staff admin's customer-data list and its search: fixed, however
many members the list holds or a search finds (a search by number logs them in one INSERT).

Every count includes, for the signed-in staff member: 1 session read, 1 viewer.
"""

import pytest

from tests.factories import (
    CUSTOMER_NUMBER,
    MOBILE_NUMBER,
    MOBILE_NUMBER_SHOWN,
    CustomerDataFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/admin/customer_data/customerdata/"
SEARCH = "/admin/customer_data/customerdata/search/"
SIGNED_IN = 1 + 1


def household(size: int) -> None:
    """`size` members sharing the sample numbers, and as many more without them."""
    for index in range(size):
        CustomerDataFactory(
            user=UserFactory(username=f"haus-{index:02}"),
            customer_number=CUSTOMER_NUMBER,
            mobile_number=MOBILE_NUMBER,
        )
        CustomerDataFactory(user=UserFactory(username=f"andere-{index:02}"), partly=False)


# What each page costs, beyond SIGNED_IN and the 2 reads of the staff member's own and group
# permissions that the admin's menu asks for (once per request):
#   the list: the count for "n Kundendaten" (show_full_result_count is off: no second count)
#     and one page of rows with member and profile;
#   a search by number: the rows found with member, profile, rank and roles, and one INSERT
#     into the access log for all of them;
#   a search by name: the rows found; nothing is logged.
# A search runs in one transaction: in a test, the savepoint and its release.
MENU = 2
TRANSACTION = 2
PAGES = {
    "list": ("GET", LIST, {}, MENU + 2),
    "phone": ("POST", SEARCH, {"q": MOBILE_NUMBER_SHOWN}, MENU + TRANSACTION + 2),
    "customer number": ("POST", SEARCH, {"q": CUSTOMER_NUMBER}, MENU + TRANSACTION + 2),
    "name": ("POST", SEARCH, {"q": "haus-"}, MENU + TRANSACTION + 1),
}


@pytest.mark.parametrize("who", ["team", "cm"])
@pytest.mark.parametrize("surface", list(PAGES))
@pytest.mark.parametrize("size", [1, 12])
def test_admin_list_and_search_query_counts_are_fixed(
    client_for, django_assert_num_queries, who, surface, size
):
    household(size)
    client = client_for(who)
    method, path, data, cost = PAGES[surface]
    send = client.get if method == "GET" else client.post

    with django_assert_num_queries(SIGNED_IN + cost):
        response = send(path, data)

    assert response.status_code == 200
    found = response.text.count("/change/")
    assert found >= size
